package scrape

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestGatherSum(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "records_total"}, []string{"outcome", "shard"})
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "shards"})
	reg.MustRegister(c, g)
	c.WithLabelValues("applied", "a").Add(2)
	c.WithLabelValues("applied", "b").Add(3)
	c.WithLabelValues("stale", "a").Add(5)
	g.Set(4)
	m, err := Gather(reg)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		match []string
		want  float64
	}{
		{"records_total", nil, 10},
		{"records_total", []string{"outcome=applied"}, 5},
		{"records_total", []string{"outcome=applied", "shard=b"}, 3},
		{"records_total", []string{"outcome=dead_lettered"}, 0},
		{"shards", nil, 4},
		{"missing", nil, 0},
	}
	for _, tc := range tests {
		if got := m.Sum(tc.name, tc.match...); got != tc.want {
			t.Errorf("Sum(%s, %q) = %v, want %v", tc.name, tc.match, got, tc.want)
		}
	}
}
