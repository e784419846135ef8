// Package scrape reads Prometheus metrics of shardline's own workers, from a /metrics endpoint of
// a process (the demo and the chaos harness sum them across workers) or from the registry of an
// in-process worker (the benchmarks). Tests read metrics with testkit.Metric instead.
package scrape

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Metrics is one scrape: metric family name → its samples.
type Metrics map[string]*dto.MetricFamily

// Get scrapes url (a /metrics endpoint).
func Get(ctx context.Context, url string) (Metrics, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scrape %s: %s", url, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(resp.Body)
}

// Gather reads the metrics of g (an in-process worker's registry).
func Gather(g prometheus.Gatherer) (Metrics, error) {
	fams, err := g.Gather()
	if err != nil {
		return nil, err
	}
	m := make(Metrics, len(fams))
	for _, f := range fams {
		m[f.GetName()] = f
	}
	return m, nil
}

// Sum adds the counter or gauge values of a family whose labels include every name=value pair
// of match ("k=v" strings).
func (m Metrics) Sum(name string, match ...string) float64 {
	fam, ok := m[name]
	if !ok {
		return 0
	}
	var total float64
next:
	for _, metric := range fam.GetMetric() {
		for _, kv := range match {
			k, v, _ := strings.Cut(kv, "=")
			found := false
			for _, l := range metric.GetLabel() {
				if l.GetName() == k && l.GetValue() == v {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case metric.Counter != nil:
			total += metric.GetCounter().GetValue()
		case metric.Gauge != nil:
			total += metric.GetGauge().GetValue()
		case metric.Untyped != nil:
			total += metric.GetUntyped().GetValue()
		}
	}
	return total
}

// Merge appends the families of m to total (for summing across processes).
func Merge(total, m Metrics) {
	for name, fam := range m {
		if have, ok := total[name]; ok {
			have.Metric = append(have.Metric, fam.Metric...)
			continue
		}
		total[name] = fam
	}
}
