package bench

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/shardline/shardline/internal/envelope"
	"github.com/shardline/shardline/processor"
)

const (
	// concurrencyEvents is how many objects (one event each) the concurrency rows process.
	concurrencyEvents = 400
	// handlerLatency is the fixed latency of the concurrency and hot-key handlers.
	handlerLatency = 20 * time.Millisecond
)

// sleepHandler waits handlerLatency (or until ctx ends) and then calls after, if set.
func sleepHandler(started *atomic.Int64, after func(processor.Event)) processor.HandlerFunc {
	return func(ctx context.Context, ev processor.Event) error {
		if started != nil {
			started.CompareAndSwap(0, time.Now().UnixNano())
		}
		t := time.NewTimer(handlerLatency)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
		if after != nil {
			after(ev)
		}
		return nil
	}
}

func (r *runner) concurrencySection(ctx context.Context, t *table) {
	const sec = SectionConcurrency
	const target = "≥ 8×"
	def := processor.DefaultKeyConcurrency()
	events, err := distinctKeyEvents("bench-concurrency", "obj", concurrencyEvents)
	if err != nil {
		t.fail(sec, "events", "", err)
		return
	}
	rates := map[int]float64{}
	for _, kc := range []int{1, def} {
		what := fmt.Sprintf("KeyConcurrency %d", kc)
		if kc == def {
			what += " (default: 16 × GOMAXPROCS, ≤ 128)"
		}
		r.cfg.Progress.Info("concurrency", "key_concurrency", kc, "events", len(events))
		rate, err := r.concurrencyRun(ctx, events, kc)
		if err != nil {
			t.fail(sec, what, "", err)
			continue
		}
		rates[kc] = rate
		t.add(row{section: sec, what: what, figure: perSecond(rate, "events/s per shard"),
			note: fmt.Sprintf("1 shard, %d objects, handler sleeps %s", len(events), handlerLatency)})
	}
	if rates[1] > 0 && rates[def] > 0 {
		ratio := rates[def] / rates[1]
		t.add(row{section: sec, what: fmt.Sprintf("KeyConcurrency %d ÷ 1", def), figure: times(ratio), target: target, met: yesNo(ratio >= 8)})
	} else {
		t.fail(sec, fmt.Sprintf("KeyConcurrency %d ÷ 1", def), target, fmt.Errorf("a rate is missing"))
	}
}

// concurrencyRun puts events on a fresh one-shard stream, then starts a worker with the sleeping
// handler and returns events per second from the first handler call until the last record is
// finished. Loading first keeps lease taking and write pacing out of the figure.
func (r *runner) concurrencyRun(ctx context.Context, events []envelope.Event, keyConcurrency int) (rate float64, err error) {
	res, err := r.create(ctx, "concurrency", 1, false, "")
	if err != nil {
		return 0, err
	}
	defer r.remove(res)
	writer, err := r.newWriter(res.stream)
	if err != nil {
		return 0, err
	}
	if err := writeAll(ctx, writer, events); err != nil {
		return 0, err
	}
	var started atomic.Int64
	w := r.startWorker(ctx, res, sleepHandler(&started, nil), workerOptions{keyConcurrency: keyConcurrency})
	defer func() {
		if serr := w.stop(); serr != nil && err == nil {
			err = fmt.Errorf("worker stop: %w", serr)
		}
	}()
	limit := time.Minute + time.Duration(len(events))*3*handlerLatency
	at, err := w.waitFinished(ctx, len(events), limit)
	if err != nil {
		return 0, fmt.Errorf("%w (finished %d of %d)", err, w.finished(), len(events))
	}
	if applied := w.outcome(processor.OutcomeApplied); applied != len(events) {
		return 0, fmt.Errorf("%d of %d events applied", applied, len(events))
	}
	return float64(len(events)) / at.Sub(time.Unix(0, started.Load())).Seconds(), nil
}
