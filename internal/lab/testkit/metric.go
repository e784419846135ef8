package testkit

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Metric gathers g and returns the sum over the series of metric name whose labels include
// labels (name, value pairs; none selects every series): a counter's, gauge's or untyped
// metric's value, a histogram's or summary's sample count; name_sum reads a histogram's or
// summary's sum of observations, as the exposition format names it. A metric or series that does
// not exist reads 0, as an untouched counter does. An odd number of labels or a failed Gather
// fails the test.
func Metric(t testing.TB, g prometheus.Gatherer, name string, labels ...string) float64 {
	t.Helper()
	if len(labels)%2 != 0 {
		t.Fatalf("Metric(%s): labels %q are not name, value pairs", name, labels)
	}
	fams, err := g.Gather()
	if err != nil {
		t.Fatalf("gather %s: %v", name, err)
	}
	sum := 0.0
	for _, f := range fams {
		sumOf := f.GetName()+"_sum" == name
		if f.GetName() != name && !sumOf {
			continue
		}
		for _, m := range f.GetMetric() {
			have := map[string]string{}
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			switch {
			case !matches(have, labels):
			case sumOf:
				sum += m.GetHistogram().GetSampleSum() + m.GetSummary().GetSampleSum()
			default:
				sum += value(m)
			}
		}
	}
	return sum
}

func matches(have map[string]string, want []string) bool {
	for i := 0; i < len(want); i += 2 {
		if v, ok := have[want[i]]; !ok || v != want[i+1] {
			return false
		}
	}
	return true
}

func value(m *dto.Metric) float64 {
	switch {
	case m.GetCounter() != nil:
		return m.GetCounter().GetValue()
	case m.GetGauge() != nil:
		return m.GetGauge().GetValue()
	case m.GetUntyped() != nil:
		return m.GetUntyped().GetValue()
	case m.GetHistogram() != nil:
		return float64(m.GetHistogram().GetSampleCount())
	case m.GetSummary() != nil:
		return float64(m.GetSummary().GetSampleCount())
	}
	return 0
}
