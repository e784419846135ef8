package processor

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shardline/shardline/internal/deadletter"
	"github.com/shardline/shardline/internal/envelope"
	"github.com/shardline/shardline/internal/ledger"
)

// TestLedgerConflictRepair has another worker commit while our handler runs: our commit loses,
// the conflict is counted, and the output is converged again to the input's current state (our
// write may have landed after the winner's). Without a Verifier that is one more handler call.
func TestLedgerConflictRepair(t *testing.T) {
	tests := []struct {
		name        string
		winner      ledgerWant // committed by the other worker while our put 01 is handled
		repairErrs  int        // transient failures of the repair call
		repairPerm  bool       // the repair call fails permanently
		wantCalls   int        // handler calls for a.jpg
		wantRetries float64
	}{
		{name: "newer delete won", winner: ledgerWant{"delete", "02", ledger.OutcomeApplied, 0}, wantCalls: 2},
		{name: "newer put won", winner: ledgerWant{"put", "02", ledger.OutcomeApplied, 0}, wantCalls: 2},
		{name: "newer dead-lettered put won", winner: ledgerWant{"put", "02", ledger.OutcomeDeadLettered, 0}, wantCalls: 2},
		{name: "same event won", winner: ledgerWant{"put", "01", ledger.OutcomeApplied, 0}, wantCalls: 2},
		{name: "same event in a newer epoch won", winner: ledgerWant{"put", "01", ledger.OutcomeApplied, 1}, wantCalls: 2},
		{name: "repair fails transiently, then succeeds", winner: ledgerWant{"delete", "02", ledger.OutcomeApplied, 0}, repairErrs: 2, wantCalls: 4, wantRetries: 2},
		{name: "repair fails permanently: ignored, not dead-lettered", winner: ledgerWant{"put", "02", ledger.OutcomeApplied, 0}, repairPerm: true, wantCalls: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			winner := ledger.Entry{
				Object: "inbox/a.jpg", Sequencer: norm(t, tc.winner.seq), Epoch: tc.winner.epoch, Op: tc.winner.op,
				Outcome: tc.winner.outcome, Worker: "worker-b", Shard: "shardId-000000000009",
			}
			h.handler.fn = func(_ context.Context, ev envelope.Event, attempt int) error {
				switch {
				case ev.Key != "a.jpg":
				case attempt == 1:
					h.ledger.set(winner) // the other worker commits while we write
				case tc.repairPerm:
					return Permanent("not_an_image", errNotImage)
				case attempt-1 <= tc.repairErrs: // repair calls 1..n
					return errThrottled
				}
				return nil
			}
			mismatchUntilRepaired(h, "a.jpg")
			h.process(h.put("a.jpg", "01"), h.put("b.jpg", "01"))

			want := []string{}
			for range tc.wantCalls {
				want = append(want, "put a.jpg@01")
			}
			assertStrings(t, "handler calls", h.handler.Calls(), calls(t, append(want, "put b.jpg@01")...))
			if e, _ := h.ledger.entry("inbox/a.jpg"); e != winner {
				t.Errorf("ledger entry = %+v, want the winner's %+v", e, winner)
			}
			if letters := h.dl.Letters(); len(letters) != 0 {
				t.Errorf("dead letters = %+v, want none", letters)
			}
			assertStrings(t, "checkpoints", h.cp.Calls(), seqNos(2))
			assertMetric(t, h.reg, mConflicts, map[string]float64{"": 1})
			assertMetric(t, h.reg, mRecords, outcomes(1, 0, 1, 0))
			assertMetric(t, h.reg, mRetries, map[string]float64{"": tc.wantRetries})
		})
	}
}

// mismatchUntilRepaired makes the handler's Verify find key's output wrong until a handler call
// after the first one (a repair) succeeded or failed permanently. Call it after setting fn.
func mismatchUntilRepaired(h *harness, key string) {
	var mu sync.Mutex
	repaired := false
	inner := h.handler.fn
	h.handler.fn = func(ctx context.Context, ev envelope.Event, attempt int) error {
		var err error
		if inner != nil {
			err = inner(ctx, ev, attempt)
		}
		if ev.Key == key && attempt > 1 && (err == nil || errors.Is(err, ErrPermanent)) {
			mu.Lock()
			repaired = true
			mu.Unlock()
		}
		return err
	}
	h.handler.verify = func(ctx context.Context, ev envelope.Event) (bool, error) {
		mu.Lock()
		defer mu.Unlock()
		return ev.Key != key || repaired, ctx.Err()
	}
}

// TestConflictRepairWithoutLease converges the output even after the lease is gone (our write
// may have overwritten the winner's), finishes the record as stale, then gives the shard up.
func TestConflictRepairWithoutLease(t *testing.T) {
	h := newHarness(t)
	h.handler.fn = func(_ context.Context, ev envelope.Event, attempt int) error {
		if ev.Key == "a.jpg" && attempt == 1 {
			h.ledger.set(ledger.Entry{Object: "inbox/a.jpg", Sequencer: norm(t, "02"), Op: envelope.OpDelete, Outcome: ledger.OutcomeApplied})
		}
		return nil
	}
	mismatchUntilRepaired(h, "a.jpg")
	h.ledger.onCommit = func(e ledger.Entry, err error) {
		if errors.Is(err, ledger.ErrConflict) {
			h.leases.lose()
		}
	}
	h.process(h.put("a.jpg", "01"), h.put("b.jpg", "01"))

	assertStrings(t, "handler calls", h.handler.Calls(), calls(t, "put a.jpg@01", "put a.jpg@01"))
	assertStrings(t, "checkpoints", h.cp.Calls(), nil)
	assertMetric(t, h.reg, mConflicts, map[string]float64{"": 1})
	assertMetric(t, h.reg, mRecords, outcomes(0, 0, 1, 0))
	assertGaveUp(t, h, "lease_lost")
}

// TestDeadLetterCommitConflict: a newer event owns the object by the time a dead-lettered
// record is recorded in the ledger. The letter is kept, the ledger keeps the newer event, and the
// output is converged again (the handler's removal of an output it could not derive may have
// raced the newer event's write).
func TestDeadLetterCommitConflict(t *testing.T) {
	h := newHarness(t)
	newer := ledger.Entry{Object: "inbox/a.jpg", Sequencer: norm(t, "02"), Op: envelope.OpPut, Outcome: ledger.OutcomeApplied}
	h.handler.fn = func(_ context.Context, ev envelope.Event, attempt int) error {
		if ev.Key == "a.jpg" && attempt == 1 {
			h.ledger.set(newer)
			return Permanent("not_an_image", errNotImage)
		}
		return nil
	}
	mismatchUntilRepaired(h, "a.jpg")
	h.process(h.put("a.jpg", "01"))

	assertStrings(t, "handler calls", h.handler.Calls(), calls(t, "put a.jpg@01", "put a.jpg@01"))
	if e, _ := h.ledger.entry("inbox/a.jpg"); e != newer {
		t.Errorf("ledger entry = %+v, want the newer %+v", e, newer)
	}
	if letters := h.dl.Letters(); len(letters) != 1 || letters[0].Reason != "not_an_image" {
		t.Errorf("dead letters = %+v, want one not_an_image", letters)
	}
	assertStrings(t, "checkpoints", h.cp.Calls(), seqNos(1))
	assertMetric(t, h.reg, mRecords, outcomes(0, 0, 0, 1))
}

// TestContextCancelled abandons the record in progress when the root context is cancelled: it is
// neither dead-lettered nor checkpointed, and the processor gives the shard up.
func TestContextCancelled(t *testing.T) {
	tests := []struct {
		name      string
		retry     Retry
		setup     func(h *harness)
		wantCalls []string
		wantPuts  int // dead-letter Put calls
	}{
		{
			name: "while retrying the handler",
			setup: func(h *harness) {
				h.handler.fn = throttleKey("a.jpg", 2, h.cancel)
			},
			wantCalls: []string{"put z.jpg@01", "put a.jpg@01", "put a.jpg@01"},
		},
		{
			name:  "on the last attempt: abandoned, not retries_exhausted",
			retry: Retry{MaxAttempts: 2, Base: time.Millisecond, Max: 2 * time.Millisecond},
			setup: func(h *harness) {
				h.handler.fn = throttleKey("a.jpg", 2, h.cancel)
			},
			wantCalls: []string{"put z.jpg@01", "put a.jpg@01", "put a.jpg@01"},
		},
		{
			name:  "while waiting out a long backoff",
			retry: Retry{MaxAttempts: 5, Base: time.Hour, Max: time.Hour},
			setup: func(h *harness) {
				failed := make(chan struct{})
				h.handler.fn = func(_ context.Context, ev envelope.Event, _ int) error {
					if ev.Key == "a.jpg" {
						close(failed)
						return errThrottled
					}
					return nil
				}
				done := make(chan struct{})
				go func() {
					defer close(done)
					<-failed
					h.cancel()
				}()
				h.t.Cleanup(func() { h.cancel(); <-done })
			},
			wantCalls: []string{"put z.jpg@01", "put a.jpg@01"},
		},
		{
			name: "while the dead-letter store retries",
			setup: func(h *harness) {
				h.handler.fn = func(_ context.Context, ev envelope.Event, _ int) error {
					if ev.Key == "a.jpg" {
						return Permanent("not_an_image", errNotImage)
					}
					return nil
				}
				h.dl.putErr = func(_ deadletter.Letter, n int) error {
					if n == 3 {
						h.cancel()
					}
					return errors.New("dead-letter table throttled")
				}
			},
			wantCalls: []string{"put z.jpg@01", "put a.jpg@01"},
			wantPuts:  3,
		},
		{
			name: "while reading the ledger",
			setup: func(h *harness) {
				h.ledger.getErr = func(object string, _ int) error {
					if object == "inbox/a.jpg" {
						h.cancel()
						return context.Canceled
					}
					return nil
				}
			},
			wantCalls: []string{"put z.jpg@01"},
		},
		{
			name: "during the handler call that would have succeeded",
			setup: func(h *harness) {
				h.handler.fn = func(_ context.Context, ev envelope.Event, _ int) error {
					if ev.Key == "a.jpg" {
						h.cancel()
					}
					return nil // the fake then reports ctx's error, like a real handler
				}
			},
			wantCalls: []string{"put z.jpg@01", "put a.jpg@01"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var opts []harnessOption
			if tc.retry != (Retry{}) {
				opts = append(opts, withRetry(tc.retry))
			}
			h := newHarness(t, opts...)
			tc.setup(h)
			done := async(func() { h.process(h.put("z.jpg", "01"), h.put("a.jpg", "01"), h.put("b.jpg", "01")) })
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("ProcessRecords did not return after the context was cancelled")
			}

			assertStrings(t, "handler calls", h.handler.Calls(), calls(t, tc.wantCalls...))
			assertOnlyApplied(t, h, "inbox/z.jpg")
			if got := h.dl.Puts(); got != tc.wantPuts {
				t.Errorf("dead-letter Put calls = %d, want %d", got, tc.wantPuts)
			}
			// Only the finished first record may be checkpointed.
			assertStrings(t, "checkpoints", h.cp.Calls(), seqNos(1))
			assertMetric(t, h.reg, mDeadLetters, nil)
			assertGaveUp(t, h, "shutdown")
		})
	}
}

// TestContextCancelledBeforeBatch abandons a whole batch delivered after cancellation.
func TestContextCancelledBeforeBatch(t *testing.T) {
	h := newHarness(t)
	h.process(h.put("z.jpg", "01"))
	h.cancel()
	h.process(h.put("a.jpg", "01"), h.put("b.jpg", "01"))

	assertStrings(t, "handler calls", h.handler.Calls(), calls(t, "put z.jpg@01"))
	assertStrings(t, "checkpoints", h.cp.Calls(), seqNos(1))
	if letters := h.dl.Letters(); len(letters) != 0 {
		t.Errorf("dead letters = %+v, want none", letters)
	}
	assertMetric(t, h.reg, mRecords, outcomes(1, 0, 0, 0))
	assertGaveUp(t, h, "shutdown")
}

// opsAndKeys drops the "@sequencer" part of handler call strings.
func opsAndKeys(calls []string) []string {
	out := make([]string, 0, len(calls))
	for _, c := range calls {
		opKey, _, _ := strings.Cut(c, "@")
		out = append(out, opKey)
	}
	return out
}
