package processor_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// counter sums the counter series of metric name whose label has value.
func counter(t *testing.T, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var v float64
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					v += m.GetCounter().GetValue()
				}
			}
		}
	}
	return v
}
