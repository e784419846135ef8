package processor_test

import (
	"context"
	"testing"
	"time"

	"github.com/shardline/shardline/checkpoint"
	"github.com/shardline/shardline/internal/lab/pipelinetest"
	"github.com/shardline/shardline/processor"
)

type noopHandler struct{}

func (noopHandler) Handle(context.Context, processor.Event) error { return nil }

// TestWorkerTakesEveryFreeLeaseWithinPasses: a worker alone on a six-shard stream holds all six
// within a few lease passes, though it lists shards only every 5 s (the KCL alone takes one lease
// per shard sync: 15–45 s for six). Then a second worker, started when the first stops
// gracefully, takes all six released leases as fast.
func TestWorkerTakesEveryFreeLeaseWithinPasses(t *testing.T) {
	p := pipelinetest.New(t, 6) // deleted when the test ends: kinesalite's shard limit is shared
	c := p.Clients
	stream, leases, ledgerTable, dlTable := p.Stream, p.Leases, p.Ledger, p.DeadLetters
	ctx := context.Background()
	inspector, err := checkpoint.New(checkpoint.Config{Client: c.DynamoDB, TableName: leases, WorkerID: "inspector"})
	if err != nil {
		t.Fatal(err)
	}
	start := func(id string) (stop func() error) {
		wctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() {
			done <- processor.Run(wctx, processor.Config{
				Kinesis: c.Kinesis, DynamoDB: c.DynamoDB, Handler: noopHandler{}, Region: c.Config.Region,
				StreamName: stream, LeaseTable: leases, LedgerTable: ledgerTable, DeadLetterTable: dlTable,
				WorkerID: id, LeaseDuration: 10 * time.Second, ShardSyncInterval: 5 * time.Second,
				LeasePassInterval: 100 * time.Millisecond, IdleBetweenReads: 100 * time.Millisecond,
				StopTimeout: 15 * time.Second, Logger: quiet(),
			})
		}()
		stopped := false
		stop = func() error {
			if stopped {
				return nil
			}
			stopped = true
			cancel()
			select {
			case err := <-done:
				return err
			case <-time.After(30 * time.Second):
				t.Error("worker did not stop within 30s")
				return nil
			}
		}
		t.Cleanup(func() { _ = stop() })
		return stop
	}
	// owned waits until id's rows name it for all six shards, and returns how long that took.
	owned := func(id string, within time.Duration) time.Duration {
		t.Helper()
		began := time.Now()
		deadline := began.Add(within)
		for {
			rows, err := inspector.Scan(ctx)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, l := range rows {
				if l.Owner == id {
					n++
				}
			}
			if n == 6 {
				return time.Since(began)
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s holds %d of 6 shards after %s", id, n, within)
			}
			select {
			case <-time.After(50 * time.Millisecond):
			case <-ctx.Done():
				t.Fatal(ctx.Err())
			}
		}
	}

	stopA := start("worker-a")
	t.Logf("worker-a holds 6/6 after %s", owned("worker-a", 8*time.Second))
	if err := stopA(); err != nil {
		t.Fatal(err)
	}
	start("worker-b")
	t.Logf("worker-b holds the 6 released leases after %s", owned("worker-b", 8*time.Second))
}
