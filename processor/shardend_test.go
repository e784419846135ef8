package processor

import (
	"errors"
	"sync"
	"testing"
	"time"

	kcl "github.com/vmware/vmware-go-kcl-v2/clientlibrary/interfaces"

	"github.com/shardline/shardline/checkpoint"
	"github.com/shardline/shardline/internal/lab/testkit"
)

// TestShardEndWriteFails_ShardIsNotStalled (issue 11, scenario 6, processor side): the KCL marks
// the shard SHARD_END in memory before the write and never retries it, so a SHARD_END write that
// fails transiently must be retried by Shutdown until it is recorded, or until the lease is
// really lost (then the next owner finishes the shard). Before the fix Shutdown wrote once,
// logged the error and returned.
func TestShardEndWriteFails_ShardIsNotStalled(t *testing.T) {
	transient := errors.New("InternalServerError: try again")
	leaseLost := &checkpoint.LeaseError{Shard: testShard, Reason: "taken over"}
	tests := []struct {
		name      string
		fail      func(h *harness, n int) error // answer to the n-th SHARD_END write (1-based)
		wantCPs   []string
		wantStops map[string]float64
		wantCPRes map[string]float64
	}{
		{
			name: "transient failures are retried until SHARD_END is recorded",
			fail: func(_ *harness, n int) error {
				if n <= 3 {
					return transient
				}
				return nil
			},
			wantCPs:   []string{seqNo(1), shardEnd, shardEnd, shardEnd, shardEnd},
			wantStops: map[string]float64{`reason="shard_end"`: 1},
			wantCPRes: map[string]float64{`result="ok"`: 2, `result="error"`: 3},
		},
		{
			name: "a refusal (lease lost) ends the retries and gives the shard up",
			fail: func(_ *harness, n int) error {
				if n == 1 {
					return transient
				}
				return leaseLost
			},
			wantCPs:   []string{seqNo(1), shardEnd, shardEnd},
			wantStops: map[string]float64{`reason="lease_lost"`: 1},
			wantCPRes: map[string]float64{`result="ok"`: 1, `result="error"`: 1, `result="refused"`: 1},
		},
		{
			name: "the lease running out ends the retries",
			fail: func(h *harness, n int) error {
				if n == 2 {
					h.leases.lose() // renewals failed meanwhile: the lease ran out
				}
				return transient
			},
			wantCPs:   []string{seqNo(1), shardEnd, shardEnd},
			wantStops: map[string]float64{`reason="lease_lost"`: 1},
			wantCPRes: map[string]float64{`result="ok"`: 1, `result="error"`: 2},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.process(h.put("a.jpg", "01"))
			var mu sync.Mutex
			ends := 0
			h.cp.err = func(seq string) error {
				if seq != shardEnd {
					return nil
				}
				mu.Lock()
				ends++
				n := ends
				mu.Unlock()
				return tc.fail(h, n)
			}
			done := async(func() { h.shutdown(kcl.TERMINATE) })
			waitClosed(t, done, "Shutdown(TERMINATE) did not return; checkpoints %q", h.cp.Calls())
			assertStrings(t, "checkpoints", h.cp.Calls(), tc.wantCPs)
			assertMetric(t, h.reg, mStops, tc.wantStops)
			assertMetric(t, h.reg, mCheckpoints, tc.wantCPRes)
		})
	}
}

// TestShardEndWriteFails_ShutdownStopsRetryingOnShutdown: the SHARD_END retries end when the
// worker's processing context is cancelled (stop timeout), without SHARD_END.
func TestShardEndWriteFails_ShutdownStopsRetryingOnShutdown(t *testing.T) {
	h := newHarness(t)
	h.process(h.put("a.jpg", "01"))
	h.cp.err = func(seq string) error {
		if seq == shardEnd {
			return errors.New("RequestTimeout")
		}
		return nil
	}
	done := async(func() { h.shutdown(kcl.TERMINATE) })
	testkit.Eventually(t, 10*time.Second, time.Millisecond, func() bool { return len(h.cp.Calls()) >= 3 }, "SHARD_END not retried")
	h.cancel()
	waitClosed(t, done, "SHARD_END retries ignored shutdown")
	assertMetric(t, h.reg, mStops, map[string]float64{`reason="shutdown"`: 1})
}

// TestShutdownTerminate_EmptyMergedShardWaitsForParents (issue 11, scenario 6): the KCL calls
// ProcessRecords only with records, so a child shard that closes empty gets Shutdown(TERMINATE)
// without ever having waited for its parents; SHARD_END then lets its own children start while
// one of its parents (the adjacent parent of a merge, which the KCL ignores) still has older
// events of the same keys. Before the fix SHARD_END was written at once.
func TestShutdownTerminate_EmptyMergedShardWaitsForParents(t *testing.T) {
	topo := newTopology([]string{"shardId-parent-a", "shardId-parent-b"}, "shardId-parent-a")
	h := newHarness(t, withTopology(topo))
	done := async(func() { h.shutdown(kcl.TERMINATE) })
	waitPolled(t, topo, "shardId-parent-b", 3, done, "empty child never checked its parents")
	if cps := h.cp.Calls(); len(cps) != 0 {
		t.Fatalf("checkpoints %q while parent shardId-parent-b is unfinished, want none", cps)
	}
	topo.finish("shardId-parent-b")
	waitClosed(t, done, "Shutdown(TERMINATE) did not return after the parents finished")
	assertStrings(t, "checkpoints", h.cp.Calls(), []string{shardEnd})
	assertMetric(t, h.reg, mStops, map[string]float64{`reason="shard_end"`: 1})
}

// TestShutdownTerminate_EmptyChildGivesUpOnShutdown: an empty child still waiting for its
// parents when the worker stops writes no SHARD_END.
func TestShutdownTerminate_EmptyChildGivesUpOnShutdown(t *testing.T) {
	topo := newTopology([]string{"shardId-parent-a"})
	h := newHarness(t, withTopology(topo))
	done := async(func() { h.shutdown(kcl.TERMINATE) })
	waitPolled(t, topo, "shardId-parent-a", 2, done, "empty child never checked its parent")
	h.cancel()
	waitClosed(t, done, "parent wait in Shutdown ignored shutdown")
	assertStrings(t, "checkpoints", h.cp.Calls(), nil)
	assertMetric(t, h.reg, mStops, map[string]float64{`reason="shutdown"`: 1})
}

// waitPolled waits until the empty child asked topo n times whether parent finished, or gave up
// (done closed), and fails the test with msg when neither happens in time.
func waitPolled(t *testing.T, topo *fakeTopology, parent string, n int, done <-chan struct{}, msg string) {
	t.Helper()
	testkit.Eventually(t, 10*time.Second, time.Millisecond, func() bool {
		select {
		case <-done:
			return true
		default:
			return topo.checked(parent) >= n
		}
	}, msg)
}
