package processor

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/shardline/shardline/internal/envelope"
	"github.com/shardline/shardline/internal/lab/testkit"
	"github.com/shardline/shardline/internal/ledger"
)

// world models an input bucket and its output bucket for the state-based handler: each key's
// input holds a content version ("" = absent) and its output the version it was derived from
// ("" = no output).
type world struct {
	inputs, outputs lockedMap[string, string]
}

func newWorld() *world { return &world{} }

// lockedMap is a map that a test changes while the worker under test reads it; the zero value is
// empty and ready to use.
type lockedMap[K comparable, V any] struct {
	mu sync.Mutex
	m  map[K]V
}

func (l *lockedMap[K, V]) get(k K) V {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.m[k]
}

// update sets k to f of its current value.
func (l *lockedMap[K, V]) update(k K, f func(V) V) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = map[K]V{}
	}
	l.m[k] = f(l.m[k])
}

func (l *lockedMap[K, V]) set(k K, v V) { l.update(k, func(V) V { return v }) }

// newWorldHarness is a harness on a new world whose a.jpg has the input version input.
func newWorldHarness(t *testing.T, input string) (*world, *harness) {
	t.Helper()
	w := newWorld()
	w.setInput("a.jpg", input)
	return w, newHarness(t, withWorld(w))
}

// assertOutput fails the test unless key's output is derived from the input version want; when
// says at which point ("" for the end).
func (w *world) assertOutput(t *testing.T, key, want, when string) {
	t.Helper()
	if got := w.output(key); got != want {
		t.Fatalf("output of %s derived from %q %s, want the input's current %s", key, got, when, want)
	}
}

func (w *world) setInput(key, version string) { w.inputs.set(key, version) }

func (w *world) input(key string) string { return w.inputs.get(key) }

func (w *world) output(key string) string { return w.outputs.get(key) }

// write lands a write derived from version ("": the output is deleted).
func (w *world) write(key, version string) { w.outputs.set(key, version) }

// converge is the state-based handler's effect: the output follows the input's current version.
func (w *world) converge(key string) { w.write(key, w.input(key)) }

// withWorld makes the harness handler converge in w (after its fn, which may interleave other
// writers and fail) and verify against w, like the grayscale handler.
func withWorld(w *world) harnessOption {
	return func(c *recordConfig) {
		fh := c.Handler.(*fakeHandler)
		fh.verify = func(_ context.Context, ev envelope.Event) (bool, error) {
			return w.output(ev.Key) == w.input(ev.Key), nil
		}
		c.Handler = HandlerFunc(func(ctx context.Context, ev Event) error {
			read := w.input(ev.Key) // the handler reads the input first
			if err := fh.Handle(ctx, ev); err != nil && !errors.Is(err, errWriteLanded) {
				return err
			} else if err != nil {
				w.write(ev.Key, read)
				return errThrottled // the write landed, its response was lost
			}
			w.write(ev.Key, read)
			return nil
		})
		c.Handler = verifyingFunc{Handler: c.Handler, v: fh}
	}
}

// errWriteLanded, returned by a harness fn, makes the world handler land its write and then
// report a transient error: a lost response.
var errWriteLanded = errors.New("the write landed but its response was lost")

// verifyingFunc pairs a Handler with another value's Verify.
type verifyingFunc struct {
	Handler
	v Verifier
}

func (f verifyingFunc) Verify(ctx context.Context, ev Event) (bool, error) {
	return f.v.Verify(ctx, ev)
}

// newOwnerApplies is another worker applying newer while ours is busy: the input changes to v2,
// that worker converges the output and commits newer.
func newOwnerApplies(h *harness, w *world, newer envelope.Event) {
	w.setInput(newer.Key, "v2")
	w.converge(newer.Key)
	h.ledger.set(ledger.Entry{Object: newer.ObjectID(), Sequencer: newer.Sequencer, Op: newer.Op, Outcome: ledger.OutcomeApplied, EventID: newer.ID})
}

// newZombieHarness is a world harness whose handler, on its first attempt, is paused past its
// lease: it loses the lease while the input changes to v2 and the new owner applies a.jpg@02;
// then paused runs, if not nil, and the handler's write, derived from v1, lands.
func newZombieHarness(t *testing.T, paused func(h *harness)) (*world, *harness) {
	t.Helper()
	w, h := newWorldHarness(t, "v1")
	newer := event(t, "a.jpg", envelope.OpPut, "02")
	h.handler.fn = func(_ context.Context, ev envelope.Event, attempt int) error {
		if attempt == 1 {
			h.leases.lose()
			newOwnerApplies(h, w, newer)
			if paused != nil {
				paused(h)
			}
		}
		return nil
	}
	return w, h
}

// TestZombieLateWriteIsFenced: a worker loses its lease while its handler runs; meanwhile the new
// owner applies a newer event and converges the output; then the zombie's write, derived from
// the older content it read, lands. The zombie must not commit, and must leave the output
// matching the input's current content. Removing the fence makes this test fail.
func TestZombieLateWriteIsFenced(t *testing.T) {
	w, h := newZombieHarness(t, nil)
	h.process(h.put("a.jpg", "01"))

	w.assertOutput(t, "a.jpg", "v2", "")
	for _, c := range h.ledger.Commits() {
		if c.Sequencer == norm(t, "01") {
			t.Fatalf("zombie committed %+v", c)
		}
	}
	assertStrings(t, "checkpoints", h.cp.Calls(), nil)
	assertMetric(t, h.reg, "shardline_worker_late_writes_fenced_total", map[string]float64{"": 1})
	assertMetric(t, h.reg, "shardline_worker_output_repairs_total", map[string]float64{"": 1})
	assertGaveUp(t, h, "lease_lost")
}

// TestCommitterRepairsLateForeignWrite: a zombie's stale write lands after our handler wrote the
// output but before we checked it. The check after our commit must repair it.
func TestCommitterRepairsLateForeignWrite(t *testing.T) {
	w, h := newWorldHarness(t, "v2")
	h.ledger.onCommit = func(e ledger.Entry, err error) {
		if err == nil && e.Sequencer == norm(t, "02") {
			w.write("a.jpg", "v1") // the zombie's write lands right after our commit
		}
	}
	h.process(h.put("a.jpg", "02"))

	w.assertOutput(t, "a.jpg", "v2", "after commit")
	assertStrings(t, "handler calls", h.handler.Calls(), calls(t, "put a.jpg@02", "put a.jpg@02"))
	assertMetric(t, h.reg, "shardline_worker_output_repairs_total", map[string]float64{"": 1})
	assertMetric(t, h.reg, mRecords, outcomes(1, 0, 0, 0))
}

// TestCommitterKilledBeforeVerify_DuplicateDropRepairs is scenario 3(a) of issue 11: the
// committer died between its ledger commit and its check, and a zombie's late write derived from
// older content landed. The next owner replays the record, finds it a duplicate, and must still
// check and repair the output (it used to drop it without looking).
func TestCommitterKilledBeforeVerify_DuplicateDropRepairs(t *testing.T) {
	w, h := newWorldHarness(t, "v2")
	w.write("a.jpg", "v1") // the zombie's write, after the dead committer's
	ev := event(t, "a.jpg", envelope.OpPut, "02")
	h.ledger.set(ledger.Entry{Object: ev.ObjectID(), Sequencer: ev.Sequencer, Op: ev.Op, Outcome: ledger.OutcomeApplied, EventID: ev.ID})
	h.process(h.record(ev))

	w.assertOutput(t, "a.jpg", "v2", "after the duplicate drop")
	assertMetric(t, h.reg, mRecords, outcomes(0, 1, 0, 0))
	assertMetric(t, h.reg, "shardline_worker_output_repairs_total", map[string]float64{"": 1})
	assertStrings(t, "checkpoints", h.cp.Calls(), seqNos(1))
}

// TestFenceCheckFailsOnce_IsRetried is scenario 3(b) of issue 11: the fence after a zombie's late
// write read once and swallowed its error, leaving the stale output. A transient failure of the
// check is now retried.
func TestFenceCheckFailsOnce_IsRetried(t *testing.T) {
	w, h := newZombieHarness(t, func(h *harness) {
		failed := false
		verify := h.handler.verify
		h.handler.verify = func(ctx context.Context, ev envelope.Event) (bool, error) {
			if !failed {
				failed = true
				return false, errThrottled
			}
			return verify(ctx, ev)
		}
	})
	h.ledger.getErr = func(object string, n int) error {
		if n == 2 { // the old fence's single ledger read
			return errThrottled
		}
		return nil
	}
	h.process(h.put("a.jpg", "01"))

	w.assertOutput(t, "a.jpg", "v2", "")
	assertGaveUp(t, h, "lease_lost")
}

// TestLostResponseWrite_StaleDropRepairs is scenario 3(c) of issue 11: our handler's write landed
// but its response was lost (after another worker had applied a newer event), so we retried; the
// retry found the event stale and dropped it without looking at the output our write had
// replaced. A stale drop after a handler call of ours now checks and repairs.
func TestLostResponseWrite_StaleDropRepairs(t *testing.T) {
	w, h := newWorldHarness(t, "v1")
	newer := event(t, "a.jpg", envelope.OpPut, "02")
	h.handler.fn = func(_ context.Context, ev envelope.Event, attempt int) error {
		if attempt == 1 {
			// While our request is in flight, the input changes and another worker applies 02.
			newOwnerApplies(h, w, newer)
			return errWriteLanded
		}
		return nil
	}
	h.process(h.put("a.jpg", "01"))

	w.assertOutput(t, "a.jpg", "v2", "")
	assertMetric(t, h.reg, mRecords, outcomes(0, 0, 1, 0))
	assertStrings(t, "checkpoints", h.cp.Calls(), seqNos(1))
}

// fakeTopology answers Parents from a map and Finished from a set the test changes.
type fakeTopology struct {
	parents  map[string][]string // read-only once the harness runs
	finished lockedMap[string, bool]
	checks   lockedMap[string, int]
}

// newTopology is a fakeTopology in which testShard has parents, of which finished have reached
// SHARD_END.
func newTopology(parents []string, finished ...string) *fakeTopology {
	f := &fakeTopology{parents: map[string][]string{testShard: parents}}
	for _, s := range finished {
		f.finish(s)
	}
	return f
}

// withTopology makes the harness's shard wait for topo's parents, polling every millisecond.
func withTopology(topo *fakeTopology) harnessOption {
	return func(c *recordConfig) { c.Topology, c.ParentPoll = topo, time.Millisecond }
}

func (f *fakeTopology) Parents(_ context.Context, shard string) ([]string, error) {
	return f.parents[shard], nil
}

func (f *fakeTopology) Finished(_ context.Context, shard string) (bool, error) {
	f.checks.update(shard, func(n int) int { return n + 1 })
	return f.finished.get(shard), nil
}

func (f *fakeTopology) finish(shard string) { f.finished.set(shard, true) }

func (f *fakeTopology) checked(shard string) int { return f.checks.get(shard) }

// TestChildWaitsForEveryParent: a child shard's records are not processed before all of its
// parents reached SHARD_END, including a merge's AdjacentParentShardId, which the KCL ignores.
// Removing the wait makes the handler run while a parent is unfinished and this test fail.
func TestChildWaitsForEveryParent(t *testing.T) {
	tests := []struct {
		name       string
		unfinished []string
	}{
		{"adjacent parent of a merge unfinished", []string{"shardId-parent-b"}},
		{"both parents unfinished", []string{"shardId-parent-a", "shardId-parent-b"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			topo := newTopology([]string{"shardId-parent-a", "shardId-parent-b"}, "shardId-parent-a", "shardId-parent-b")
			for _, s := range tc.unfinished {
				topo.finished.set(s, false)
			}
			h := newHarness(t, withTopology(topo))
			done := async(func() { h.process(h.put("a.jpg", "01")) })
			last := tc.unfinished[len(tc.unfinished)-1]
			testkit.Eventually(t, 10*time.Second, time.Millisecond, func() bool { return topo.checked(last) >= 3 }, "child never polled its parent")
			if calls := h.handler.Calls(); len(calls) != 0 {
				t.Fatalf("handler ran before the parents finished: %q", calls)
			}
			for _, s := range tc.unfinished {
				topo.finish(s)
			}
			waitClosed(t, done, "child did not start after its parents finished")
			assertStrings(t, "handler calls", h.handler.Calls(), calls(t, "put a.jpg@01"))
			assertMetric(t, h.reg, "shardline_worker_parent_waits_total", map[string]float64{"": 1})
		})
	}
}

// TestParentWaitGivesUpOnShutdown: a child waiting for its parents stops when the worker shuts
// down, without processing or checkpointing anything.
func TestParentWaitGivesUpOnShutdown(t *testing.T) {
	topo := newTopology([]string{"shardId-parent-a"})
	h := newHarness(t, withTopology(topo))
	done := async(func() { h.process(h.put("a.jpg", "01")) })
	testkit.Eventually(t, 10*time.Second, time.Millisecond, func() bool { return topo.checked("shardId-parent-a") >= 2 }, "child never polled its parent")
	h.cancel()
	waitClosed(t, done, "parent wait ignored shutdown")
	if calls := h.handler.Calls(); len(calls) != 0 {
		t.Fatalf("handler calls %q, want none", calls)
	}
	assertStrings(t, "checkpoints", h.cp.Calls(), nil)
	assertGaveUp(t, h, "shutdown")
}
