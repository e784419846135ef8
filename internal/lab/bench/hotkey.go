package bench

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shardline/shardline/internal/envelope"
	"github.com/shardline/shardline/internal/ledger"
	"github.com/shardline/shardline/processor"
)

const (
	// hotUpdates updates of one object are written within hotWindow.
	hotUpdates = 100
	hotWindow  = time.Second
)

// hotResult is what the hot-key run measured.
type hotResult struct {
	runs                  int64
	sinceLast, sinceFirst time.Duration
	outcomes              string
}

func (r *runner) hotKeySection(ctx context.Context, t *table) {
	const sec = SectionHotKey
	r.cfg.Progress.Info("hot key", "updates", hotUpdates, "window", hotWindow)
	res, err := r.hotKeyRun(ctx)
	if err != nil {
		t.fail(sec, fmt.Sprintf("handler runs for %d updates of one object", hotUpdates), "≤ 5", err)
		return
	}
	t.add(row{section: sec, what: fmt.Sprintf("handler runs for %d updates of one object", hotUpdates), figure: fmt.Sprint(res.runs),
		target: "≤ 5", met: yesNo(res.runs <= 5),
		note: fmt.Sprintf("written one by one over %s to a running worker (1 shard, %s handler); records: %s", hotWindow, handlerLatency, res.outcomes)})
	t.add(row{section: sec, what: "output and ledger show the last update", figure: ms(res.sinceLast) + " after it",
		note: fmt.Sprintf("%s after the first update", ms(res.sinceFirst))})
}

// hotKeyRun writes hotUpdates puts of one object, evenly over hotWindow, to a worker already
// reading the stream, and measures the handler runs and when both the "output" (what the last
// handler run wrote) and the ledger name the last update.
func (r *runner) hotKeyRun(ctx context.Context) (res hotResult, err error) {
	rs, err := r.create(ctx, "hotkey", 1, false, "")
	if err != nil {
		return res, err
	}
	defer r.remove(rs)

	var (
		runs   atomic.Int64
		mu     sync.Mutex
		output string // sequencer of the event the output was last written for
	)
	h := processor.HandlerFunc(func(ctx context.Context, ev processor.Event) error {
		runs.Add(1)
		return sleepHandler(nil, func(ev processor.Event) {
			mu.Lock()
			output = ev.Sequencer
			mu.Unlock()
		})(ctx, ev)
	})
	w := r.startWorker(ctx, rs, h, workerOptions{})
	defer func() {
		if serr := w.stop(); serr != nil && err == nil {
			err = fmt.Errorf("worker stop: %w", serr)
		}
	}()
	if err := w.waitShards(ctx, 1, time.Minute); err != nil {
		return res, err
	}
	writer, err := r.newWriter(rs.stream)
	if err != nil {
		return res, err
	}
	led, err := ledger.New(r.cfg.Clients.DynamoDB, rs.ledger)
	if err != nil {
		return res, err
	}

	base := uint64(time.Now().UnixNano())
	events := make([]envelope.Event, hotUpdates)
	for i := range events {
		if events[i], err = syntheticEvent("bench-hotkey", "hot/object.jpg", base+uint64(i)); err != nil {
			return res, err
		}
	}
	last := events[len(events)-1]
	tick := time.NewTicker(hotWindow / hotUpdates)
	defer tick.Stop()
	first := time.Now()
	for i, ev := range events {
		if i > 0 {
			select {
			case <-tick.C:
			case <-ctx.Done():
				return res, ctx.Err()
			}
		}
		if err := writer.Write(ctx, []envelope.Event{ev}); err != nil {
			return res, err
		}
	}
	lastWritten := time.Now()

	err = waitUntil(ctx, 30*time.Second, 5*time.Millisecond, func() (bool, error) {
		mu.Lock()
		out := output
		mu.Unlock()
		if out != last.Sequencer {
			return false, nil
		}
		e, found, err := led.Get(ctx, last.ObjectID())
		return found && e.Sequencer == last.Sequencer, err
	})
	if err != nil {
		return res, fmt.Errorf("waiting for the last update to be applied: %w", err)
	}
	converged := time.Now()
	if _, err := w.waitFinished(ctx, hotUpdates, 30*time.Second); err != nil {
		return res, err
	}
	res.runs = runs.Load()
	res.sinceLast, res.sinceFirst = converged.Sub(lastWritten), converged.Sub(first)
	res.outcomes = fmt.Sprintf("%d applied, %d superseded, %d duplicate, %d stale",
		w.outcome(processor.OutcomeApplied), w.outcome(processor.OutcomeSuperseded),
		w.outcome(processor.OutcomeDuplicate), w.outcome(processor.OutcomeStale))
	return res, nil
}
