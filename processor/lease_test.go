package processor

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	kcl "github.com/vmware/vmware-go-kcl-v2/clientlibrary/interfaces"

	"github.com/shardline/shardline/checkpoint"
	"github.com/shardline/shardline/internal/deadletter"
	"github.com/shardline/shardline/internal/envelope"
)

// assertGaveUp checks that the processor gave the shard up for reason and that it now ignores
// batches: no ledger read, no handler call, no checkpoint, and no SHARD_END at the end.
func assertGaveUp(t *testing.T, h *harness, reason string) {
	t.Helper()
	assertStrings(t, "revoked shards", h.leases.Revoked(), []string{testShard})
	assertMetric(t, h.reg, mStops, map[string]float64{`reason="` + reason + `"`: 1})

	gets, handled, cps, puts := h.ledger.Gets(), len(h.handler.Calls()), len(h.cp.Calls()), h.dl.Puts()
	h.process(h.put("later.jpg", "0FFF"), h.raw([]byte("junk"), "inbox/junk"))
	h.shutdown(kcl.TERMINATE)
	if got := h.ledger.Gets(); got != gets {
		t.Errorf("later batch read the ledger %d times, want 0", got-gets)
	}
	if got := len(h.handler.Calls()); got != handled {
		t.Errorf("later batch called the handler %d times, want 0", got-handled)
	}
	if got := h.dl.Puts(); got != puts {
		t.Errorf("later batch wrote %d dead letters, want 0", got-puts)
	}
	if got := h.cp.Calls(); len(got) != cps {
		t.Errorf("checkpoints after giving up: %q, want none (not even SHARD_END)", got[cps:])
	}
	assertStrings(t, "revoked shards", h.leases.Revoked(), []string{testShard})
}

// assertOnlyApplied checks that of what h processed only object's event was applied: it alone
// is committed and counted, and no dead letter is stored.
func assertOnlyApplied(t *testing.T, h *harness, object string) {
	t.Helper()
	if commits := h.ledger.Commits(); len(commits) != 1 || commits[0].Object != object {
		t.Errorf("ledger commits = %+v, want only %s", commits, object)
	}
	if letters := h.dl.Letters(); len(letters) != 0 {
		t.Errorf("dead letters = %+v, want none", letters)
	}
	assertMetric(t, h.reg, mRecords, outcomes(1, 0, 0, 0))
}

// TestLeaseLostMidBatch stops at the first record handled without the lease: nothing of it or
// later records is committed, dead-lettered or checkpointed, and the shard is given up.
func TestLeaseLostMidBatch(t *testing.T) {
	tests := []struct {
		name      string
		setup     func(h *harness)
		records   func(h *harness) []types.Record
		wantCalls []string
		wantCPs   []int
	}{
		{
			name: "lost before the 2nd record",
			setup: func(h *harness) {
				h.leases.ownsFn = func() bool { return len(h.ledger.Commits()) < 1 }
			},
			records: func(h *harness) []types.Record {
				return []types.Record{h.put("a.jpg", "01"), h.put("b.jpg", "02"), h.put("c.jpg", "03")}
			},
			wantCalls: []string{"put a.jpg@01"},
		},
		{
			name: "lost while the 2nd record's handler runs",
			setup: func(h *harness) {
				h.handler.fn = func(_ context.Context, ev envelope.Event, _ int) error {
					if ev.Key == "b.jpg" {
						h.leases.lose()
					}
					return nil
				}
			},
			records: func(h *harness) []types.Record {
				return []types.Record{h.put("a.jpg", "01"), h.del("b.jpg", "02"), h.put("c.jpg", "03")}
			},
			wantCalls: []string{"put a.jpg@01", "delete b.jpg@02"},
		},
		{
			name: "lost while retrying the 2nd record",
			setup: func(h *harness) {
				h.handler.fn = throttleKey("b.jpg", 2, h.leases.lose)
			},
			records: func(h *harness) []types.Record {
				return []types.Record{h.put("a.jpg", "01"), h.put("b.jpg", "02"), h.put("c.jpg", "03")}
			},
			wantCalls: []string{"put a.jpg@01", "put b.jpg@02", "put b.jpg@02"},
		},
		{
			name: "lost before the 2nd record's dead letter (bad envelope) is stored",
			setup: func(h *harness) {
				h.leases.ownsFn = func() bool { return len(h.ledger.Commits()) < 1 }
			},
			records: func(h *harness) []types.Record {
				return []types.Record{h.put("a.jpg", "01"), h.raw([]byte("junk"), "inbox/x"), h.put("c.jpg", "03")}
			},
			wantCalls: []string{"put a.jpg@01"},
		},
		{
			name: "lost with the 2nd record's permanent failure",
			setup: func(h *harness) {
				h.handler.fn = func(_ context.Context, ev envelope.Event, _ int) error {
					if ev.Key == "b.jpg" {
						h.leases.lose()
						return Permanent("not_an_image", errNotImage)
					}
					return nil
				}
			},
			records: func(h *harness) []types.Record {
				return []types.Record{h.put("a.jpg", "01"), h.put("b.jpg", "02"), h.put("c.jpg", "03")}
			},
			wantCalls: []string{"put a.jpg@01", "put b.jpg@02"},
		},
		{
			name: "lost while the dead-letter store retries",
			setup: func(h *harness) {
				h.handler.fn = permanentPut("not_an_image")
				h.dl.putErr = func(_ deadletter.Letter, n int) error {
					if n == 2 {
						h.leases.lose()
					}
					if n <= 20 {
						return errors.New("dead-letter table throttled")
					}
					return nil // so that a processor ignoring the lost lease fails the test, not hangs
				}
			},
			records: func(h *harness) []types.Record {
				return []types.Record{h.del("a.jpg", "01"), h.put("b.jpg", "02"), h.put("c.jpg", "03")}
			},
			wantCalls: []string{"delete a.jpg@01", "put b.jpg@02"},
		},
		{
			// Owns is false only for a moment (the lease was renewed late): the finished record
			// may be checkpointed, but no later one may ever be, or record 2 would be skipped.
			name: "lease flaps back after the 2nd record was abandoned",
			setup: func(h *harness) {
				var mu sync.Mutex
				flap := false
				h.handler.fn = func(_ context.Context, ev envelope.Event, _ int) error {
					if ev.Key == "b.jpg" {
						mu.Lock()
						flap = true
						mu.Unlock()
					}
					return nil
				}
				h.leases.ownsFn = func() bool {
					mu.Lock()
					defer mu.Unlock()
					if flap {
						flap = false
						return false
					}
					return true
				}
			},
			records: func(h *harness) []types.Record {
				return []types.Record{h.put("a.jpg", "01"), h.put("b.jpg", "02"), h.put("c.jpg", "03")}
			},
			wantCalls: []string{"put a.jpg@01", "put b.jpg@02"},
			wantCPs:   []int{1},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			tc.setup(h)
			h.process(tc.records(h)...)

			assertStrings(t, "handler calls", h.handler.Calls(), calls(t, tc.wantCalls...))
			assertOnlyApplied(t, h, "inbox/a.jpg")
			assertStrings(t, "checkpoints", h.cp.Calls(), seqNos(tc.wantCPs...))
			assertGaveUp(t, h, "lease_lost")
		})
	}
}

// TestCheckpointErrors stops the processor when a checkpoint is refused for a lost lease and
// carries on after a transient checkpoint failure.
func TestCheckpointErrors(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		wantStop bool
		result   string
	}{
		{"refused: LeaseError", &checkpoint.LeaseError{Shard: testShard, Reason: "not the owner"}, true, "refused"},
		{"refused: wrapped ErrLeaseLost", fmt.Errorf("checkpoint %s: %w", testShard, checkpoint.ErrLeaseLost), true, "refused"},
		{"transient error", errors.New("RequestLimitExceeded"), false, "error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.cp.err = func(seq string) error {
				if seq == seqNo(1) {
					return tc.err
				}
				return nil
			}
			h.process(h.put("a.jpg", "01"))
			assertStrings(t, "checkpoints", h.cp.Calls(), seqNos(1))
			if tc.wantStop {
				assertMetric(t, h.reg, mCheckpoints, map[string]float64{`result="` + tc.result + `"`: 1})
				assertGaveUp(t, h, "lease_lost")
				assertStrings(t, "handler calls", h.handler.Calls(), calls(t, "put a.jpg@01"))
				return
			}
			h.process(h.put("b.jpg", "02"))
			assertStrings(t, "checkpoints", h.cp.Calls(), seqNos(1, 2))
			assertStrings(t, "handler calls", h.handler.Calls(), calls(t, "put a.jpg@01", "put b.jpg@02"))
			assertMetric(t, h.reg, mCheckpoints, map[string]float64{`result="error"`: 1, `result="ok"`: 1})
			if got := h.leases.Revoked(); len(got) != 0 {
				t.Errorf("Revoke called for %v after a transient checkpoint error", got)
			}
			assertMetric(t, h.reg, mStops, nil)
		})
	}
}

// TestShutdown writes SHARD_END only at the end of a shard this worker still owns.
func TestShutdown(t *testing.T) {
	leaseLost := &checkpoint.LeaseError{Shard: testShard, Reason: "taken over"}
	tests := []struct {
		name      string
		setup     func(h *harness)
		reason    kcl.ShutdownReason
		wantCPs   []string
		wantStops map[string]float64
		wantCPRes map[string]float64
		wantRevok bool
	}{
		{
			name:      "TERMINATE while owning writes SHARD_END",
			reason:    kcl.TERMINATE,
			wantCPs:   []string{seqNo(1), shardEnd},
			wantStops: map[string]float64{`reason="shard_end"`: 1},
			wantCPRes: map[string]float64{`result="ok"`: 2},
		},
		{
			name:      "TERMINATE after the lease is lost writes nothing",
			setup:     func(h *harness) { h.leases.lose() },
			reason:    kcl.TERMINATE,
			wantCPs:   []string{seqNo(1)},
			wantCPRes: map[string]float64{`result="ok"`: 1},
		},
		{
			name: "TERMINATE after a refused checkpoint writes nothing",
			setup: func(h *harness) {
				h.cp.err = func(string) error { return leaseLost }
				h.process(h.put("b.jpg", "02"))
			},
			reason:    kcl.TERMINATE,
			wantCPs:   []string{seqNo(1), seqNo(2)},
			wantStops: map[string]float64{`reason="lease_lost"`: 1},
			wantCPRes: map[string]float64{`result="ok"`: 1, `result="refused"`: 1},
			wantRevok: true,
		},
		{
			name:      "TERMINATE with SHARD_END refused gives the shard up",
			setup:     func(h *harness) { h.cp.err = func(string) error { return leaseLost } },
			reason:    kcl.TERMINATE,
			wantCPs:   []string{seqNo(1), shardEnd},
			wantStops: map[string]float64{`reason="lease_lost"`: 1},
			wantCPRes: map[string]float64{`result="ok"`: 1, `result="refused"`: 1},
			wantRevok: true,
		},
		{
			name:      "REQUESTED writes nothing",
			reason:    kcl.REQUESTED,
			wantCPs:   []string{seqNo(1)},
			wantStops: map[string]float64{`reason="shutdown"`: 1},
			wantCPRes: map[string]float64{`result="ok"`: 1},
		},
		{
			name:      "ZOMBIE writes nothing",
			reason:    kcl.ZOMBIE,
			wantCPs:   []string{seqNo(1)},
			wantStops: map[string]float64{`reason="shutdown"`: 1},
			wantCPRes: map[string]float64{`result="ok"`: 1},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.process(h.put("a.jpg", "01"))
			if tc.setup != nil {
				tc.setup(h)
			}
			assertMetric(t, h.reg, mShards, map[string]float64{"": 1})
			h.shutdown(tc.reason)

			assertStrings(t, "checkpoints", h.cp.Calls(), tc.wantCPs)
			assertMetric(t, h.reg, mStops, tc.wantStops)
			assertMetric(t, h.reg, mCheckpoints, tc.wantCPRes)
			assertMetric(t, h.reg, mShards, map[string]float64{"": 0})
			if revoked := len(h.leases.Revoked()) > 0; revoked != tc.wantRevok {
				t.Errorf("revoked = %v, want %v", revoked, tc.wantRevok)
			}
		})
	}
}

// TestEpochLoad reads the epoch once per processor, retrying transient failures, and gives the
// shard up when it cannot.
func TestEpochLoad(t *testing.T) {
	t.Run("transient failure is retried, then read once", func(t *testing.T) {
		h := newHarness(t)
		h.ledger.epoch = 2
		h.ledger.epochErr = func(n int) error {
			if n == 1 {
				return errors.New("InternalServerError")
			}
			return nil
		}
		h.process(h.put("a.jpg", "01"))
		h.process(h.put("b.jpg", "02"))
		if n := h.ledger.EpochCalls(); n != 2 {
			t.Errorf("Epoch called %d times, want 2 (one failure, one success, then cached)", n)
		}
		assertLedger(t, h.ledger, map[string]ledgerWant{"a.jpg": {"put", "01", "applied", 2}, "b.jpg": {"put", "02", "applied", 2}})
		assertMetric(t, h.reg, mRetries, map[string]float64{"": 1})
		assertStrings(t, "checkpoints", h.cp.Calls(), seqNos(1, 2))
	})
	t.Run("persistent failure gives the shard up", func(t *testing.T) {
		h := newHarness(t, withRetry(Retry{MaxAttempts: 3, Base: 1, Max: 2}))
		h.ledger.epochErr = func(int) error { return errors.New("ResourceNotFoundException") }
		h.process(h.put("a.jpg", "01"))
		if n := h.ledger.EpochCalls(); n != 3 {
			t.Errorf("Epoch called %d times, want MaxAttempts = 3", n)
		}
		if calls := h.handler.Calls(); len(calls) != 0 {
			t.Errorf("handler calls = %q, want none", calls)
		}
		assertStrings(t, "checkpoints", h.cp.Calls(), nil)
		assertMetric(t, h.reg, mRecords, outcomes(0, 0, 0, 0))
		assertGaveUp(t, h, "epoch_unavailable")
	})
}
