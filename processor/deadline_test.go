package processor

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/shardline/shardline/internal/envelope"
	"github.com/shardline/shardline/internal/lab/testkit"
)

// bomb is a handler whose calls for one key never finish on their own: with ignoreCtx it blocks
// until released whatever its context says (CPU-bound decoding that checks no context), and then
// returns nil as if it had written an output late; otherwise it returns its context's error at
// the deadline. Other keys succeed at once. It records the deadline of every call.
type bomb struct {
	key       string
	ignoreCtx bool
	release   chan struct{}

	mu        sync.Mutex
	started   int
	deadlines []time.Duration // deadline - start of each call of key
	verified  []string        // keys verified
}

func newBomb(key string, ignoreCtx bool) *bomb {
	return &bomb{key: key, ignoreCtx: ignoreCtx, release: make(chan struct{})}
}

func (b *bomb) handle(ctx context.Context, ev envelope.Event, _ int) error {
	if ev.Key != b.key {
		return nil
	}
	d, ok := ctx.Deadline()
	b.mu.Lock()
	b.started++
	if ok {
		b.deadlines = append(b.deadlines, time.Until(d))
	}
	b.mu.Unlock()
	if b.ignoreCtx {
		<-b.release
		return nil
	}
	<-ctx.Done()
	return ctx.Err()
}

func (b *bomb) verify(ctx context.Context, ev envelope.Event) (bool, error) {
	b.mu.Lock()
	b.verified = append(b.verified, ev.Key)
	b.mu.Unlock()
	return true, ctx.Err()
}

func (b *bomb) Started() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.started
}

func (b *bomb) Verified(key string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, k := range b.verified {
		if k == key {
			n++
		}
	}
	return n
}

// lateHandler is a fake handler that does not turn a nil result into ctx's error (fakeHandler
// does): an abandoned call that finishes late reports success, as a real handler that wrote its
// output after the deadline would.
type lateHandler struct{ b *bomb }

func (l lateHandler) Handle(ctx context.Context, ev Event) error {
	return l.b.handle(ctx, envelope.Event(ev), 0)
}

func (l lateHandler) Verify(ctx context.Context, ev Event) (bool, error) {
	return l.b.verify(ctx, envelope.Event(ev))
}

const (
	testHandlerTimeout = 40 * time.Millisecond
	testMaxTimeouts    = 2
	mTimeouts          = "shardline_worker_handler_timeouts_total"
	mOverdue           = "shardline_worker_handlers_overdue"
	mOverdueWaits      = "shardline_worker_handler_overdue_waits_total"
	mChecks            = "shardline_worker_output_checks_total"
)

func withDeadline(maxOverdue int) harnessOption {
	return func(c *recordConfig) {
		c.HandlerTimeout, c.MaxTimeouts, c.MaxOverdueHandlers = testHandlerTimeout, testMaxTimeouts, maxOverdue
	}
}

// processTimed runs ProcessRecords and returns how long it took.
func (h *harness) processTimed(records ...types.Record) time.Duration {
	h.t.Helper()
	start := time.Now()
	h.process(records...)
	return time.Since(start)
}

// TestHandlerPastItsDeadlineIsDeadLetteredAsTimeout: a record whose handler never finishes (a
// CPU bomb) fails each attempt at the deadline and is dead-lettered as "timeout" after
// MaxTimeouts attempts, within HandlerTimeout × MaxTimeouts (plus backoff), whether the handler
// honours its context or ignores it; the records after it in the shard are applied and
// checkpointed.
func TestHandlerPastItsDeadlineIsDeadLetteredAsTimeout(t *testing.T) {
	for _, tc := range []struct {
		name      string
		ignoreCtx bool
	}{
		{"handler honours its context", false},
		{"handler ignores its context", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBomb("bomb.jpg", tc.ignoreCtx)
			t.Cleanup(func() { close(b.release) })
			h := newHarness(t, withDeadline(8))
			h.handler.fn, h.handler.verify = b.handle, b.verify

			took := h.processTimed(h.put("bomb.jpg", "10"), h.put("after.jpg", "10"))

			// Retry backoff in the harness is at most 2ms per attempt; the bound leaves room
			// for a loaded machine under -race, but not for a third handler call.
			if bound := testHandlerTimeout*testMaxTimeouts + time.Second; took > bound {
				t.Errorf("ProcessRecords took %s, want under %s", took, bound)
			}
			if took < testHandlerTimeout*testMaxTimeouts {
				t.Errorf("ProcessRecords took %s, less than %d handler timeouts", took, testMaxTimeouts)
			}
			if got := b.Started(); got != testMaxTimeouts {
				t.Errorf("bomb.jpg handled %d times, want %d", got, testMaxTimeouts)
			}
			for _, d := range b.deadlines {
				if d <= 0 || d > testHandlerTimeout {
					t.Errorf("handler context deadline %s ahead, want within %s", d, testHandlerTimeout)
				}
			}
			letters := h.dl.Letters()
			if len(letters) != 1 || letters[0].Reason != ReasonTimeout || letters[0].Object != testBucket+"/bomb.jpg" ||
				letters[0].Attempts != testMaxTimeouts || !strings.Contains(letters[0].Error, "timed out") {
				t.Fatalf("dead letters %+v, want one timeout letter of bomb.jpg after %d attempts", letters, testMaxTimeouts)
			}
			if e, _ := h.ledger.entry(testBucket + "/bomb.jpg"); e.Outcome != "dead_lettered" {
				t.Errorf("bomb.jpg ledger entry %+v, want dead_lettered", e)
			}
			if e, _ := h.ledger.entry(testBucket + "/after.jpg"); e.Outcome != "applied" {
				t.Errorf("after.jpg ledger entry %+v, want applied", e)
			}
			assertStrings(t, "checkpoints", h.cp.Calls(), []string{seqNo(2)})
			assertMetric(t, h.reg, mRecords, outcomes(1, 0, 0, 1))
			assertMetric(t, h.reg, mDeadLetters, map[string]float64{`reason="timeout"`: 1})
			assertMetric(t, h.reg, mTimeouts, map[string]float64{"": testMaxTimeouts})
			// No dead-letter check for a timeout: its repair would run the bomb again.
			if n := b.Verified("bomb.jpg"); n != 0 {
				t.Errorf("bomb.jpg verified %d times, want 0", n)
			}
			overdue := 0.0
			if tc.ignoreCtx {
				overdue = testMaxTimeouts // both calls still run, abandoned
			}
			assertMetric(t, h.reg, mOverdue, map[string]float64{"": overdue})
		})
	}
}

// TestAbandonedHandlerIsTrackedAndItsLateWriteChecked: the calls abandoned at their deadline
// keep running, counted as overdue and waited for by WaitHandlers; when one returns without an
// error (it may have written an output after the shard moved on) the output is checked against
// the input's current state.
func TestAbandonedHandlerIsTrackedAndItsLateWriteChecked(t *testing.T) {
	b := newBomb("bomb.jpg", true)
	h := newHarness(t, withDeadline(8), func(c *recordConfig) { c.Handler = lateHandler{b} })

	h.process(h.put("bomb.jpg", "10"), h.put("after.jpg", "10"))
	assertMetric(t, h.reg, mOverdue, map[string]float64{"": testMaxTimeouts})
	short, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	if n := h.factory.WaitHandlers(short); n != testMaxTimeouts {
		t.Fatalf("WaitHandlers = %d still running, want %d", n, testMaxTimeouts)
	}

	close(b.release)
	wait, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if n := h.factory.WaitHandlers(wait); n != 0 {
		t.Fatalf("WaitHandlers = %d still running after the release", n)
	}
	assertMetric(t, h.reg, mOverdue, map[string]float64{"": 0})
	if n := b.Verified("bomb.jpg"); n != testMaxTimeouts {
		t.Errorf("bomb.jpg verified %d times after the late returns, want %d", n, testMaxTimeouts)
	}
	if got := testkit.Metric(t, h.reg, mChecks, "after", "late"); got != testMaxTimeouts {
		t.Errorf("late checks = %v, want %d", got, testMaxTimeouts)
	}
}

// TestOverdueHandlerLimitStallsInsteadOfPilingUp: with MaxOverdueHandlers calls already
// abandoned, a call past its deadline is waited for, not abandoned, so CPU-bound calls that
// ignore their context cannot pile up without bound. Its late success is then used.
func TestOverdueHandlerLimitStallsInsteadOfPilingUp(t *testing.T) {
	b := newBomb("bomb.jpg", true)
	h := newHarness(t, withDeadline(1), func(c *recordConfig) { c.Handler = lateHandler{b} })

	done := async(func() { h.process(h.put("bomb.jpg", "10"), h.put("after.jpg", "10")) })
	testkit.Eventually(t, 10*time.Second, time.Millisecond, func() bool {
		return testkit.Metric(t, h.reg, mOverdueWaits) == 1
	}, "the second timed-out call was not waited for")
	select {
	case <-done:
		t.Fatal("ProcessRecords returned while a call past its deadline ran at the overdue limit")
	default:
	}
	assertMetric(t, h.reg, mOverdue, map[string]float64{"": 1})

	close(b.release)
	waitClosed(t, done, "ProcessRecords did not return after the handler did")
	if letters := h.dl.Letters(); len(letters) != 0 {
		t.Fatalf("dead letters %+v: the waited-for call succeeded", letters)
	}
	assertMetric(t, h.reg, mRecords, outcomes(2, 0, 0, 0))
	assertStrings(t, "checkpoints", h.cp.Calls(), []string{seqNo(2)})
}

// TestHandlerTimeoutIsRetried: a timeout is transient: a record whose first call times out and
// second succeeds is applied.
func TestHandlerTimeoutIsRetried(t *testing.T) {
	h := newHarness(t, withDeadline(8))
	h.handler.fn = func(ctx context.Context, ev envelope.Event, attempt int) error {
		if attempt == 1 {
			<-ctx.Done()
			return ctx.Err()
		}
		return nil
	}
	h.process(h.put("slow.jpg", "10"))
	if letters := h.dl.Letters(); len(letters) != 0 {
		t.Fatalf("dead letters %+v, want none", letters)
	}
	assertMetric(t, h.reg, mRecords, outcomes(1, 0, 0, 0))
	assertMetric(t, h.reg, mTimeouts, map[string]float64{"": 1})
}

// TestShutdownDoesNotWaitForAHandlerIgnoringItsContext: on shutdown the processor stops
// waiting for a handler that ignores its context; the record stays unfinished (not
// checkpointed) for the next owner.
func TestShutdownDoesNotWaitForAHandlerIgnoringItsContext(t *testing.T) {
	b := newBomb("bomb.jpg", true)
	t.Cleanup(func() { close(b.release) })
	h := newHarness(t, func(c *recordConfig) { c.HandlerTimeout = time.Hour })
	h.handler.fn = b.handle

	done := async(func() { h.process(h.put("bomb.jpg", "10")) })
	testkit.Eventually(t, 10*time.Second, time.Millisecond, func() bool { return b.Started() == 1 }, "the handler did not start")
	h.cancel()
	waitClosed(t, done, "ProcessRecords did not return after shutdown")
	if calls := h.cp.Calls(); len(calls) != 0 {
		t.Errorf("checkpoints %q, want none", calls)
	}
	if letters := h.dl.Letters(); len(letters) != 0 {
		t.Errorf("dead letters %+v, want none", letters)
	}
}
