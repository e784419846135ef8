package status

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func fixedReport() Report {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	exp := func(d time.Duration) *time.Time { t := at.Add(d); return &t }
	f := func(v float64) *float64 { return &v }
	return Report{
		Stream: "shardline-events", At: at, Interval: 5,
		Shards: []Shard{
			{ID: "shardId-000000000000", State: "closed", HashKeyStart: "0", HashKeyEnd: "340282366920938463463374607431768211455", HashShare: 1,
				Checkpoint: "SHARD_END", Lag: &Lag{}, IncomingPerSecond: f(0), ProcessedPerSecond: f(0)},
			{ID: "shardId-000000000001", State: "open", Parents: []string{"shardId-000000000000"}, HashShare: 0.5,
				Owner: "worker-a", LeaseLive: true, LeaseExpires: exp(7300 * time.Millisecond), LeaseCounter: 40,
				Checkpoint: "49671258393720983455327346829403761925939185416757444626",
				Lag:        &Lag{Records: 12, BehindSeconds: 1.25}, IncomingPerSecond: f(3.4), ProcessedPerSecond: f(3.2)},
			{ID: "shardId-000000000002", State: "open", Parents: []string{"shardId-000000000000"}, HashShare: 0.5,
				Owner: "worker-b", LeaseExpires: exp(-3 * time.Minute), LeaseCounter: 7,
				Lag: &Lag{Records: 10000, AtLeast: true, BehindSeconds: 302}, IncomingPerSecond: f(150), RatesAtLeast: true,
				Error: ""},
		},
		Workers: []Worker{{ID: "worker-a", Shards: []string{"shardId-000000000001"}}, {ID: "worker-b", Shards: []string{}, Expired: []string{"shardId-000000000002"}}},
		Orphans: []string{"shardId-000000000099"},
	}
}

func TestCollectorExportsTheLastReport(t *testing.T) {
	c := NewCollector()
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	if n, err := testutil.GatherAndCount(reg); err != nil || n != 0 {
		t.Fatalf("before a report: %d series, %v", n, err)
	}
	c.Update(fixedReport())
	want := `
# HELP shardline_shard_lag_records Records after the shard's checkpoint (a lower bound when the count reached --lag-limit).
# TYPE shardline_shard_lag_records gauge
shardline_shard_lag_records{shard="shardId-000000000000"} 0
shardline_shard_lag_records{shard="shardId-000000000001"} 12
shardline_shard_lag_records{shard="shardId-000000000002"} 10000
# HELP shardline_owner_leases_held Live shard leases per worker.
# TYPE shardline_owner_leases_held gauge
shardline_owner_leases_held{worker="worker-a"} 1
shardline_owner_leases_held{worker="worker-b"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "shardline_shard_lag_records", "shardline_owner_leases_held"); err != nil {
		t.Fatal(err)
	}
}
