package status_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/shardline/shardline/checkpoint"
	"github.com/shardline/shardline/internal/envelope"
	"github.com/shardline/shardline/internal/lab/pipelinetest"
	"github.com/shardline/shardline/internal/lab/testkit"
	"github.com/shardline/shardline/internal/status"
)

func totals(r status.Report) (lag int, processed, incoming float64) {
	for _, s := range r.Shards {
		if s.Lag != nil {
			lag += s.Lag.Records
		}
		if s.ProcessedPerSecond != nil {
			processed += *s.ProcessedPerSecond
		}
		if s.IncomingPerSecond != nil {
			incoming += *s.IncomingPerSecond
		}
	}
	return
}

// TestSampleLeasesLagAndRates runs a worker, then stops it and adds records: status must show
// the worker's leases, then the lag; after the worker catches up again, a second sample shows the
// records processed in between.
func TestSampleLeasesLagAndRates(t *testing.T) {
	p := pipelinetest.New(t, 2)
	ctx := context.Background()
	leases, err := checkpoint.New(checkpoint.Config{Client: p.Clients.DynamoDB, TableName: p.Leases, WorkerID: "status-test"})
	if err != nil {
		t.Fatal(err)
	}
	sampler, err := status.NewSampler(status.Config{Kinesis: p.Clients.Kinesis, Leases: leases, Stream: p.Stream})
	if err != nil {
		t.Fatal(err)
	}
	send := func(from, n int) {
		for i := from; i < from+n; i++ {
			k := fmt.Sprintf("k%02d.jpg", i)
			p.Send(p.Event(k, envelope.OpDelete, pipelinetest.Seq(1), ""))
		}
	}

	send(0, 8)
	w := p.StartWorker(pipelinetest.WorkerOptions{ID: "worker-a"})
	w.WaitFinished(8)
	var r status.Report
	testkit.Eventually(t, 30*time.Second, 200*time.Millisecond, func() bool {
		if r, err = sampler.Sample(ctx); err != nil {
			t.Fatal(err)
		}
		lag, _, _ := totals(r)
		return len(r.Workers) == 1 && len(r.Workers[0].Shards) == 2 && lag == 0
	}, "status does not show worker-a holding both shards, caught up")
	for _, s := range r.Shards {
		if s.Owner != "worker-a" || !s.LeaseLive || s.State != "open" || s.Error != "" {
			t.Errorf("shard row %+v", s)
		}
	}
	if _, _, incoming := totals(r); incoming <= 0 {
		t.Errorf("incoming rate %v, want > 0 after 8 records this minute", incoming)
	}
	if err := w.Stop(); err != nil {
		t.Fatal(err)
	}

	send(8, 5)
	if r, err = sampler.Sample(ctx); err != nil {
		t.Fatal(err)
	}
	lag, _, _ := totals(r)
	if lag != 5 || len(r.Workers) != 0 {
		t.Fatalf("with the worker stopped: lag %d (want 5), workers %+v", lag, r.Workers)
	}
	for _, s := range r.Shards {
		if s.Owner != "" {
			t.Errorf("shard %s still owned by %q after a clean stop", s.ID, s.Owner)
		}
		if s.Lag.Records > 0 && s.Lag.BehindSeconds <= 0 {
			t.Errorf("shard %s lags %d records but is 0s behind", s.ID, s.Lag.Records)
		}
	}

	w = p.StartWorker(pipelinetest.WorkerOptions{ID: "worker-b"})
	w.WaitFinished(5)
	testkit.Eventually(t, 30*time.Second, 200*time.Millisecond, func() bool {
		if r, err = sampler.Sample(ctx); err != nil {
			t.Fatal(err)
		}
		lag, processed, _ := totals(r)
		return lag == 0 && processed > 0
	}, "no processed records between samples: %+v", r)
}
