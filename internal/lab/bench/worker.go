package bench

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shardline/shardline/internal/lab/inproc"
	"github.com/shardline/shardline/internal/lab/quiesce"
	"github.com/shardline/shardline/internal/lab/scrape"
	"github.com/shardline/shardline/processor"
)

// benchWorker is an in-process worker (processor.Run) with its own metrics registry.
type benchWorker struct {
	*inproc.Worker
}

// workerOptions are the knobs a section sets; zero values are the worker's defaults.
type workerOptions struct {
	keyConcurrency   int
	idleBetweenReads time.Duration
}

// startWorker runs a worker on res with handler until stop is called. It uses the production
// defaults except a 1 s shard sync, so that it takes its leases within seconds.
func (r *runner) startWorker(ctx context.Context, res resources, h processor.Handler, o workerOptions) *benchWorker {
	c := r.cfg.Clients
	return &benchWorker{inproc.Start(ctx, processor.Config{
		Kinesis: c.Kinesis, DynamoDB: c.DynamoDB, Handler: h,
		Region: c.Config.Region, StreamName: res.stream, LeaseTable: res.leases, LedgerTable: res.ledger,
		DeadLetterTable: res.deadLetters, WorkerID: uniqueName("worker"),
		ShardSyncInterval: time.Second, StopTimeout: 15 * time.Second,
		KeyConcurrency: o.keyConcurrency, IdleBetweenReads: o.idleBetweenReads,
		Logger: r.cfg.Logs.With(slog.String("stream", res.stream)),
	})}
}

// sum adds the values of every series of a counter or gauge family whose labels include all of
// match ("name=value" strings).
func (w *benchWorker) sum(name string, match ...string) float64 {
	return gatherSum(w.Registry, name, match...)
}

// gatherSum is scrape's Sum over what g gathers; 0 when it cannot gather.
func gatherSum(g prometheus.Gatherer, name string, match ...string) float64 {
	m, err := scrape.Gather(g)
	if err != nil {
		return 0
	}
	return m.Sum(name, match...)
}

// finished is how many records the worker has finished, whatever the outcome.
func (w *benchWorker) finished() int {
	return int(w.sum("shardline_worker_records_total"))
}

// outcome is how many records finished with one outcome.
func (w *benchWorker) outcome(o string) int {
	return int(w.sum("shardline_worker_records_total", "outcome="+o))
}

// waitShards waits until the worker processes n shards.
func (w *benchWorker) waitShards(ctx context.Context, n int, timeout time.Duration) error {
	return w.waitFor(ctx, timeout, 20*time.Millisecond, func() bool {
		return w.sum("shardline_worker_shards_processing") >= float64(n)
	}, fmt.Sprintf("worker processing %d shards", n))
}

// waitFinished waits until the worker finished at least n records and returns when it saw that.
func (w *benchWorker) waitFinished(ctx context.Context, n int, timeout time.Duration) (time.Time, error) {
	var at time.Time
	err := w.waitFor(ctx, timeout, 5*time.Millisecond, func() bool {
		if w.finished() >= n {
			at = time.Now()
			return true
		}
		return false
	}, fmt.Sprintf("%d records finished", n))
	return at, err
}

// waitFor polls cond until it holds, the worker exits, ctx ends or timeout passes.
func (w *benchWorker) waitFor(ctx context.Context, timeout, every time.Duration, cond func() bool, what string) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		if cond() {
			return nil
		}
		select {
		case <-w.Done():
			return fmt.Errorf("worker exited while waiting for %s: %v", what, w.Err())
		case <-deadline.C:
			return fmt.Errorf("timed out after %s waiting for %s", timeout, what)
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// stop shuts the worker down gracefully and waits for it.
func (w *benchWorker) stop() error { return w.Stop() }

// waitUntil polls cond until it holds, ctx ends or timeout passes.
func waitUntil(ctx context.Context, timeout, every time.Duration, cond func() (bool, error)) error {
	return quiesce.Poll(ctx, timeout, every, cond)
}

// paced calls fn(i) for i from 0 to n-1, the first at once and each next one interval after the
// one before, until fn fails or ctx ends; it returns fn's error or ctx's.
func paced(ctx context.Context, n int, interval time.Duration, fn func(i int) error) error {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for i := range n {
		if i > 0 {
			select {
			case <-tick.C:
			case <-ctx.Done():
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(i); err != nil {
			return err
		}
	}
	return nil
}
