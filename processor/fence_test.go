package processor

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/shardline/shardline/internal/envelope"
	"github.com/shardline/shardline/internal/ledger"
)

// outputs models the output bucket: object key → sequencer of the event its content was written
// for ("" = no output).
type outputs struct {
	mu  sync.Mutex
	seq map[string]string
}

func (o *outputs) write(ev envelope.Event) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if ev.Op == envelope.OpDelete {
		delete(o.seq, ev.Key)
		return
	}
	o.seq[ev.Key] = ev.Sequencer
}

func (o *outputs) get(key string) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.seq[key]
}

// verifyingHandler is the fake handler plus Verify over outputs, like the grayscale handler.
type verifyingHandler struct {
	*fakeHandler
	out *outputs
}

func (v *verifyingHandler) Verify(_ context.Context, ev envelope.Event) (bool, error) {
	got := v.out.get(ev.Key)
	if ev.Op == envelope.OpDelete {
		return got == "", nil
	}
	return got == ev.Sequencer, nil
}

func withVerifier(out *outputs) harnessOption {
	return func(c *Config) {
		c.Handler = &verifyingHandler{fakeHandler: c.Handler.(*fakeHandler), out: out}
	}
}

// TestZombieLateWriteIsFenced: a worker loses its lease while its handler runs; meanwhile the new
// owner applies a newer event and writes its output; then the zombie's write lands. The zombie
// must not commit, and must leave the output reflecting the newer event. Removing the fence (the
// converge after a handler call without the lease) makes this test fail: the output stays at 01.
func TestZombieLateWriteIsFenced(t *testing.T) {
	out := &outputs{seq: map[string]string{}}
	h := newHarness(t, withVerifier(out))
	newer := event(t, "a.jpg", envelope.OpPut, "02")
	h.handler.fn = func(_ context.Context, ev envelope.Event, attempt int) error {
		if ev.Sequencer == norm(t, "01") && attempt == 1 {
			// Paused past the lease: the new owner applies 02 before our write lands.
			h.leases.lose()
			out.write(newer)
			h.ledger.set(ledger.Entry{Object: newer.ObjectID(), Sequencer: newer.Sequencer, Op: newer.Op, Outcome: ledger.OutcomeApplied, EventID: newer.ID})
		}
		out.write(ev)
		return nil
	}
	h.process(h.put("a.jpg", "01"))

	if got := out.get("a.jpg"); got != newer.Sequencer {
		t.Fatalf("output reflects %q, want the newer event %q", got, newer.Sequencer)
	}
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
// output but before we verified it. The verification after our commit must repair it. Without
// the post-commit converge the output stays at the zombie's 01.
func TestCommitterRepairsLateForeignWrite(t *testing.T) {
	out := &outputs{seq: map[string]string{}}
	h := newHarness(t, withVerifier(out))
	h.handler.fn = func(_ context.Context, ev envelope.Event, _ int) error {
		out.write(ev)
		return nil
	}
	zombie := event(t, "a.jpg", envelope.OpPut, "01")
	h.ledger.onCommit = func(e ledger.Entry, err error) {
		if err == nil && e.Sequencer == norm(t, "02") {
			out.write(zombie) // lands right after our commit
		}
	}
	h.process(h.put("a.jpg", "02"))

	if got := out.get("a.jpg"); got != norm(t, "02") {
		t.Fatalf("output reflects %q after commit, want 02", got)
	}
	assertStrings(t, "handler calls", h.handler.Calls(), calls(t, "put a.jpg@02", "put a.jpg@02"))
	assertMetric(t, h.reg, "shardline_worker_output_repairs_total", map[string]float64{"": 1})
	assertMetric(t, h.reg, mRecords, outcomes(1, 0, 0, 0))
}

// fakeTopology answers Parents from a map and Finished from a set the test changes.
type fakeTopology struct {
	mu       sync.Mutex
	parents  map[string][]string
	finished map[string]bool
	checks   map[string]int
}

func (f *fakeTopology) Parents(_ context.Context, shard string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.parents[shard], nil
}

func (f *fakeTopology) Finished(_ context.Context, shard string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.checks[shard]++
	return f.finished[shard], nil
}

func (f *fakeTopology) finish(shard string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.finished[shard] = true
}

func (f *fakeTopology) checked(shard string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.checks[shard]
}

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
			topo := &fakeTopology{
				parents:  map[string][]string{testShard: {"shardId-parent-a", "shardId-parent-b"}},
				finished: map[string]bool{"shardId-parent-a": true, "shardId-parent-b": true},
				checks:   map[string]int{},
			}
			for _, s := range tc.unfinished {
				topo.finished[s] = false
			}
			h := newHarness(t, func(c *Config) { c.Topology, c.ParentPoll = topo, time.Millisecond })
			done := make(chan struct{})
			go func() {
				defer close(done)
				h.process(h.put("a.jpg", "01"))
			}()
			last := tc.unfinished[len(tc.unfinished)-1]
			waitUntil(t, func() bool { return topo.checked(last) >= 3 }, "child never polled its parent")
			if calls := h.handler.Calls(); len(calls) != 0 {
				t.Fatalf("handler ran before the parents finished: %q", calls)
			}
			for _, s := range tc.unfinished {
				topo.finish(s)
			}
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("child did not start after its parents finished")
			}
			assertStrings(t, "handler calls", h.handler.Calls(), calls(t, "put a.jpg@01"))
			assertMetric(t, h.reg, "shardline_worker_parent_waits_total", map[string]float64{"": 1})
		})
	}
}

// TestParentWaitGivesUpOnShutdown: a child waiting for its parents stops when the worker shuts
// down, without processing or checkpointing anything.
func TestParentWaitGivesUpOnShutdown(t *testing.T) {
	topo := &fakeTopology{
		parents:  map[string][]string{testShard: {"shardId-parent-a"}},
		finished: map[string]bool{}, checks: map[string]int{},
	}
	h := newHarness(t, func(c *Config) { c.Topology, c.ParentPoll = topo, time.Millisecond })
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.process(h.put("a.jpg", "01"))
	}()
	waitUntil(t, func() bool { return topo.checked("shardId-parent-a") >= 2 }, "child never polled its parent")
	h.cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("parent wait ignored shutdown")
	}
	if calls := h.handler.Calls(); len(calls) != 0 {
		t.Fatalf("handler calls %q, want none", calls)
	}
	assertStrings(t, "checkpoints", h.cp.Calls(), nil)
	assertGaveUp(t, h, "shutdown")
}

// waitUntil polls cond with a deadline (no sleeps as synchronisation).
func waitUntil(t *testing.T, cond func() bool, msg string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal(msg)
		}
		time.Sleep(time.Millisecond)
	}
}
