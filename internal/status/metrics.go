package status

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Collector exports the last report as Prometheus gauges, so that per-shard lag and lease holdings
// (which no single worker knows) can be scraped from `shardline status --watch --metrics-addr`.
// Reading the stream happens in the watch loop, never in a scrape. It defines all of the status
// command's metrics.
type Collector struct {
	mu   sync.Mutex
	last *Report

	open, lag, behind, incoming, processed, expiry, held, sampled *prometheus.Desc
}

var _ prometheus.Collector = (*Collector)(nil)

// NewCollector returns a Collector with no report yet (it then exports nothing).
func NewCollector() *Collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &Collector{
		open:      d("shardline_shard_open", "1 if the shard is open, 0 if it was split or merged away.", "shard"),
		lag:       d("shardline_shard_lag_records", "Records after the shard's checkpoint (a lower bound when the count reached --lag-limit).", "shard"),
		behind:    d("shardline_shard_behind_seconds", "Age of the oldest record after the shard's checkpoint (0 when caught up).", "shard"),
		incoming:  d("shardline_shard_incoming_records_per_second", "Records that arrived in the shard over the rate window, per second.", "shard"),
		processed: d("shardline_shard_processed_records_per_second", "Records the shard's checkpoint passed between the last two samples, per second.", "shard"),
		expiry:    d("shardline_shard_lease_expiry_seconds", "Seconds until the shard's lease expires (negative: expired), by owner.", "shard", "owner"),
		held:      d("shardline_owner_leases_held", "Live shard leases per worker.", "worker"),
		sampled:   d("shardline_status_sample_timestamp_seconds", "When the exported status sample was taken (Unix time)."),
	}
}

// Update replaces the exported report.
func (c *Collector) Update(r Report) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.last = &r
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.open, c.lag, c.behind, c.incoming, c.processed, c.expiry, c.held, c.sampled} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	r := c.last
	c.mu.Unlock()
	if r == nil {
		return
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	gauge(c.sampled, float64(r.At.UnixMilli())/1000)
	for _, s := range r.Shards {
		open := 0.0
		if s.IsOpen() {
			open = 1
		}
		gauge(c.open, open, s.ID)
		if s.Lag != nil {
			gauge(c.lag, float64(s.Lag.Records), s.ID)
			gauge(c.behind, s.Lag.BehindSeconds, s.ID)
		}
		if s.IncomingPerSecond != nil {
			gauge(c.incoming, *s.IncomingPerSecond, s.ID)
		}
		if s.ProcessedPerSecond != nil {
			gauge(c.processed, *s.ProcessedPerSecond, s.ID)
		}
		if s.Owner != "" && s.LeaseExpires != nil {
			gauge(c.expiry, s.LeaseExpires.Sub(r.At).Seconds(), s.ID, s.Owner)
		}
	}
	for _, w := range r.Workers {
		gauge(c.held, float64(len(w.Shards)), w.ID)
	}
}
