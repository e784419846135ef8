package processor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/shardline/shardline/internal/envelope"
	"github.com/shardline/shardline/internal/ledger"
)

func batchHarness(t *testing.T, concurrency int) *harness {
	t.Helper()
	return newHarness(t, func(c *recordConfig) { c.NoCoalescing, c.KeyConcurrency = false, concurrency })
}

func TestCoalescing(t *testing.T) {
	h := batchHarness(t, 4)
	h.process(
		h.put("a.jpg", "01"),
		h.put("a.jpg", "03"),
		h.del("a.jpg", "02"),
		h.put("b.jpg", "01"),
		h.put("a.jpg", "03"), // resent: same event as the winner
	)
	got := h.handler.Calls()
	sort.Strings(got)
	assertStrings(t, "handler calls", got, calls(t, "put a.jpg@03", "put b.jpg@01"))
	assertMetric(t, h.reg, mRecords, map[string]float64{
		`outcome="applied"`: 2, `outcome="superseded"`: 2, `outcome="duplicate"`: 1, `outcome="stale"`: 0, `outcome="dead_lettered"`: 0,
	})
	assertStrings(t, "checkpoints", h.cp.Calls(), seqNos(5))
}

// TestHotKey: 100 updates of one object in one batch cost one handler run.
func TestHotKey(t *testing.T) {
	h := batchHarness(t, 8)
	var recs []types.Record
	for i := 1; i <= 100; i++ {
		recs = append(recs, h.put("hot.jpg", fmt.Sprintf("%04X", i)))
	}
	h.process(recs...)
	assertStrings(t, "handler calls", h.handler.Calls(), calls(t, "put hot.jpg@0064"))
	assertMetric(t, h.reg, mRecords, map[string]float64{`outcome="applied"`: 1, `outcome="superseded"`: 99})
}

// TestKeyConcurrency: different objects of a batch run concurrently, up to KeyConcurrency.
func TestKeyConcurrency(t *testing.T) {
	const limit = 4
	h := batchHarness(t, limit)
	var (
		mu       sync.Mutex
		inFlight int
		peak     int
		reached  = make(chan struct{})
	)
	h.handler.fn = func(ctx context.Context, ev envelope.Event, _ int) error {
		mu.Lock()
		inFlight++
		if inFlight > peak {
			peak = inFlight
			if peak == limit {
				close(reached)
			}
		}
		mu.Unlock()
		select { // hold every call until the limit was reached once
		case <-reached:
		case <-time.After(10 * time.Second):
		}
		mu.Lock()
		inFlight--
		mu.Unlock()
		return nil
	}
	var recs []types.Record
	for i := 0; i < 12; i++ {
		recs = append(recs, h.put(fmt.Sprintf("k%02d.jpg", i), "01"))
	}
	h.process(recs...)
	if peak != limit {
		t.Fatalf("peak concurrency %d, want %d", peak, limit)
	}
	assertMetric(t, h.reg, mRecords, map[string]float64{`outcome="applied"`: 12})
	assertStrings(t, "checkpoints", h.cp.Calls(), seqNos(12))
}

// TestCheckpointStopsBeforeUnfinished: when a record in the middle of a batch is abandoned
// (shutdown), the checkpoint covers only the records before it, even though later ones finished.
func TestCheckpointStopsBeforeUnfinished(t *testing.T) {
	h := batchHarness(t, 3)
	var others sync.WaitGroup
	others.Add(2)
	// a and c are finished once their output check (the last step after the commit) answers:
	// signalling from the commit instead let the shutdown interrupt that check, and a stayed
	// unfinished (correctly: its next owner finds it a duplicate and checks again).
	h.handler.verify = func(_ context.Context, ev envelope.Event) (bool, error) {
		if ev.Key != "b.jpg" {
			others.Done()
		}
		return true, nil
	}
	h.handler.fn = func(ctx context.Context, ev envelope.Event, _ int) error {
		if ev.Key != "b.jpg" {
			return nil
		}
		others.Wait() // a and c are finished; now the worker shuts down under b
		h.cancel()
		<-ctx.Done()
		return ctx.Err()
	}
	h.process(h.put("a.jpg", "01"), h.put("b.jpg", "01"), h.put("c.jpg", "01"))
	assertStrings(t, "checkpoints", h.cp.Calls(), seqNos(1))
	if c := h.ledger.Commits(); len(c) != 2 {
		t.Fatalf("commits = %+v, want a and c", c)
	}
	assertGaveUp(t, h, "shutdown")
}

// newBatchHarness is a harness whose ledger has BatchGet (the batchLedger it returns), without
// coalescing, with keyConcurrency keys at a time.
func newBatchHarness(t *testing.T, keyConcurrency int) (*harness, *batchLedger) {
	t.Helper()
	var bl *batchLedger
	h := newHarness(t, func(c *recordConfig) {
		c.NoCoalescing, c.KeyConcurrency = false, keyConcurrency
		bl = &batchLedger{fakeLedger: c.Ledger.(*fakeLedger)}
		c.Ledger = bl
	})
	return h, bl
}

// batchLedger adds BatchGet to the fake ledger and counts its calls.
type batchLedger struct {
	*fakeLedger
	mu      sync.Mutex
	batches [][]string
	// before, when set, runs first in every BatchGet; an error fails the call.
	before func(ctx context.Context, objects []string) error
}

func (b *batchLedger) BatchGet(ctx context.Context, objects []string) (map[string]ledger.Entry, error) {
	b.mu.Lock()
	b.batches = append(b.batches, append([]string(nil), objects...))
	b.mu.Unlock()
	if b.before != nil {
		if err := b.before(ctx, objects); err != nil {
			return nil, err
		}
	}
	out := map[string]ledger.Entry{}
	for _, o := range objects {
		if e, ok := b.entry(o); ok {
			out[o] = e
		}
	}
	return out, nil
}

// TestBatchedLedgerRead: a batch's ledger entries are read in one BatchGet, not one Get each,
// and the rule still holds (a stale event read ahead is dropped).
func TestBatchedLedgerRead(t *testing.T) {
	h, bl := newBatchHarness(t, 4)
	old := event(t, "old.jpg", envelope.OpPut, "05")
	h.ledger.set(ledger.Entry{Object: old.ObjectID(), Sequencer: old.Sequencer, Op: old.Op, Outcome: ledger.OutcomeApplied})
	h.process(h.put("a.jpg", "01"), h.put("b.jpg", "01"), h.put("old.jpg", "04"))
	if len(bl.batches) != 1 || len(bl.batches[0]) != 3 {
		t.Fatalf("BatchGet calls %v, want one with 3 objects", bl.batches)
	}
	if n := h.ledger.Gets(); n != 0 {
		t.Fatalf("%d single Gets, want 0 (the batch read covers first attempts)", n)
	}
	assertMetric(t, h.reg, mRecords, map[string]float64{`outcome="applied"`: 2, `outcome="stale"`: 1})
}

// TestReadAheadStreams: a large batch is read in chunks of at most readAheadChunk objects in
// batch order, and the first records run as soon as their own chunk is read: here no other chunk
// is read until the first record's handler ran, which would deadlock (and time out) if the whole
// batch were read before any record started.
func TestReadAheadStreams(t *testing.T) {
	const objects = 2*readAheadChunk + 50
	h, bl := newBatchHarness(t, 8)
	var recs []types.Record
	for i := range objects {
		recs = append(recs, h.put(fmt.Sprintf("k%04d.jpg", i), "01"))
	}
	first := event(t, "k0000.jpg", envelope.OpPut, "01").ObjectID()
	firstHandled := make(chan struct{})
	var once sync.Once
	h.handler.fn = func(_ context.Context, ev envelope.Event, _ int) error {
		if ev.ObjectID() == first {
			once.Do(func() { close(firstHandled) })
		}
		return nil
	}
	var timedOut atomic.Bool
	bl.before = func(ctx context.Context, objs []string) error {
		if slices.Contains(objs, first) {
			return nil
		}
		select {
		case <-firstHandled:
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Second):
			timedOut.Store(true)
		}
		return nil
	}
	h.process(recs...)
	if timedOut.Load() {
		t.Fatal("a later chunk was needed before the first record could run: the read-ahead does not stream")
	}
	if len(bl.batches) != 3 {
		t.Fatalf("%d BatchGet calls, want 3 chunks", len(bl.batches))
	}
	seen := map[string]bool{}
	for _, b := range bl.batches {
		if len(b) > readAheadChunk {
			t.Fatalf("chunk of %d objects, want at most %d", len(b), readAheadChunk)
		}
		for _, o := range b {
			seen[o] = true
		}
	}
	if len(seen) != objects {
		t.Fatalf("read ahead %d objects, want %d", len(seen), objects)
	}
	if n := h.ledger.Gets(); n != 0 {
		t.Fatalf("%d single Gets, want 0", n)
	}
	assertMetric(t, h.reg, mRecords, map[string]float64{`outcome="applied"`: objects})
	assertStrings(t, "checkpoints", h.cp.Calls(), seqNos(objects))
}

// TestReadAheadChunkFailure: when one chunk's read fails, only that chunk's records read their
// own entries, and the ledger rule still holds for them.
func TestReadAheadChunkFailure(t *testing.T) {
	const objects = readAheadChunk + 10
	h, bl := newBatchHarness(t, 8)
	var recs []types.Record
	for i := range objects - 1 {
		recs = append(recs, h.put(fmt.Sprintf("k%04d.jpg", i), "01"))
	}
	old := event(t, "old.jpg", envelope.OpPut, "05") // last: in the second, failing chunk
	h.ledger.set(ledger.Entry{Object: old.ObjectID(), Sequencer: old.Sequencer, Op: old.Op, Outcome: ledger.OutcomeApplied})
	recs = append(recs, h.put("old.jpg", "04"))
	bl.before = func(_ context.Context, objs []string) error {
		if slices.Contains(objs, old.ObjectID()) {
			return errors.New("throttled")
		}
		return nil
	}
	h.process(recs...)
	if n := h.ledger.Gets(); n != 10 {
		t.Fatalf("%d single Gets, want 10 (the failed chunk's records)", n)
	}
	assertMetric(t, h.reg, mRecords, map[string]float64{`outcome="applied"`: objects - 1, `outcome="stale"`: 1})
	assertStrings(t, "checkpoints", h.cp.Calls(), seqNos(objects))
}
