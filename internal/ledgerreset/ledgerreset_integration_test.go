package ledgerreset_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/shardline/shardline/internal/envelope"
	"github.com/shardline/shardline/internal/lab/emulators"
	"github.com/shardline/shardline/internal/lab/pipelinetest"
	"github.com/shardline/shardline/internal/ledger"
	"github.com/shardline/shardline/internal/ledgerreset"
	"github.com/shardline/shardline/internal/sequencer"
	"github.com/shardline/shardline/processor"
)

// forged is the sequencer of a forged far-future event: nothing real is ever greater.
var forged = strings.Repeat("F", sequencer.Width)

// countingWriter counts the events put on the stream through it.
type countingWriter struct {
	ledgerreset.Writer
	mu     sync.Mutex
	events []envelope.Event
}

func (w *countingWriter) Write(ctx context.Context, events []envelope.Event) error {
	w.mu.Lock()
	w.events = append(w.events, events...)
	w.mu.Unlock()
	return w.Writer.Write(ctx, events)
}

// racingLedger commits a newer entry for the object right after Run read it, as a worker could.
type racingLedger struct {
	*ledger.Ledger
	commit ledger.Entry
}

func (r racingLedger) Get(ctx context.Context, object string) (ledger.Entry, bool, error) {
	e, found, err := r.Ledger.Get(ctx, object)
	if err == nil {
		if cerr := r.Ledger.Commit(ctx, r.commit); cerr != nil {
			return e, found, cerr
		}
	}
	return e, found, err
}

// TestLedgerResetRepairsAKeyFrozenByAFarFutureSequencer: a forged event with sequencer FFFF…
// (32 digits) freezes a key: a real newer upload is dropped as stale and its output keeps the
// old content. ledger reset deletes the entry and enqueues a converging event; the worker
// applies it, the output then derives from the input's current content, and later real events
// apply again.
func TestLedgerResetRepairsAKeyFrozenByAFarFutureSequencer(t *testing.T) {
	p := pipelinetest.New(t, 1)
	ctx := context.Background()
	w := p.StartWorker(pipelinetest.WorkerOptions{})
	led := emulators.Ledger(t, p.Clients.DynamoDB, p.Ledger)

	// The attack: one forged event for a.jpg with the largest sequencer.
	etag1 := p.PutInput("a.jpg", pipelinetest.JPEG(t, 1))
	p.Send(p.Event("a.jpg", envelope.OpPut, forged, etag1))
	w.WaitFinished(1)
	if e, found, err := led.Get(ctx, p.Input+"/a.jpg"); err != nil || !found || e.Sequencer != forged {
		t.Fatalf("ledger entry after the forged event: %+v, %v, %v", e, found, err)
	}

	// A real, newer upload is dropped as stale: the key is frozen.
	etag2 := p.PutInput("a.jpg", pipelinetest.JPEG(t, 2))
	p.Send(p.Event("a.jpg", envelope.OpPut, pipelinetest.Seq(20), etag2))
	w.WaitFinished(2)
	if got := w.Outcome(processor.OutcomeStale); got != 1 {
		t.Fatalf("stale = %v, want 1 (the real event dropped)", got)
	}
	if out := p.OutputOf("a.jpg"); out.SourceETag != etag1 {
		t.Fatalf("output source etag %q, want the frozen %q", out.SourceETag, etag1)
	}

	// The dry run changes nothing.
	dry, err := ledgerreset.Run(ctx, ledgerreset.Config{Ledger: led, Bucket: p.Input, Key: "a.jpg", DryRun: true})
	if err != nil || !dry.Found || dry.Reset || dry.Enqueued || dry.Entry.Sequencer != forged {
		t.Fatalf("dry run: %+v, %v", dry, err)
	}

	// The repair.
	wr := &countingWriter{Writer: p.Writer}
	res, err := ledgerreset.Run(ctx, ledgerreset.Config{Ledger: led, Writer: wr, Bucket: p.Input, Key: "a.jpg"})
	if err != nil {
		t.Fatalf("ledger reset: %v", err)
	}
	if !res.Found || !res.Reset || !res.Enqueued || res.Entry.Sequencer != forged || len(wr.events) != 1 {
		t.Fatalf("ledger reset: %+v, %d events enqueued", res, len(wr.events))
	}
	w.WaitFinished(3)
	p.WaitOutput("a.jpg", etag2, "the converging event did not bring the output to the input's current content")
	if got := w.Outcome(processor.OutcomeApplied); got != 2 {
		t.Errorf("applied = %v, want 2 (the forged event, then the converging one)", got)
	}

	// The key is no longer frozen: the next real event applies.
	etag3 := p.PutInput("a.jpg", pipelinetest.JPEG(t, 3))
	p.Send(p.Event("a.jpg", envelope.OpPut, pipelinetest.Seq(30), etag3))
	w.WaitFinished(4)
	p.WaitOutput("a.jpg", etag3, "a real event after the reset was not applied")
	if e, _, err := led.Get(ctx, p.Input+"/a.jpg"); err != nil || e.Sequencer != p.Event("a.jpg", envelope.OpPut, pipelinetest.Seq(30), etag3).Sequencer {
		t.Fatalf("ledger entry after the next real event: %+v, %v", e, err)
	}
}

// TestLedgerResetRefusesWhenTheEntryChangedAfterItWasRead: when a worker commits between the
// reset's read and its write, the reset changes nothing (the worker's entry stays) and enqueues
// nothing.
func TestLedgerResetRefusesWhenTheEntryChangedAfterItWasRead(t *testing.T) {
	p := pipelinetest.New(t, 1)
	ctx := context.Background()
	led := emulators.Ledger(t, p.Clients.DynamoDB, p.Ledger)
	object := p.Input + "/b.jpg"
	old := p.Event("b.jpg", envelope.OpPut, pipelinetest.Seq(10), "etag-old")
	if err := led.Commit(ctx, ledger.Entry{Object: object, Sequencer: old.Sequencer, Op: old.Op, Outcome: ledger.OutcomeApplied, EventID: old.ID}); err != nil {
		t.Fatal(err)
	}
	newer := p.Event("b.jpg", envelope.OpPut, pipelinetest.Seq(11), "etag-new")
	worker := ledger.Entry{Object: object, Sequencer: newer.Sequencer, Op: newer.Op, Outcome: ledger.OutcomeApplied, EventID: newer.ID, Worker: "worker-1"}

	wr := &countingWriter{Writer: p.Writer}
	res, err := ledgerreset.Run(ctx, ledgerreset.Config{Ledger: racingLedger{Ledger: led, commit: worker}, Writer: wr, Bucket: p.Input, Key: "b.jpg"})
	if !errors.Is(err, ledgerreset.ErrChanged) {
		t.Fatalf("Run = %+v, %v; want ErrChanged", res, err)
	}
	if res.Reset || res.Enqueued || len(wr.events) != 0 {
		t.Fatalf("refused reset did something: %+v, %d events enqueued", res, len(wr.events))
	}
	e, found, err := led.Get(ctx, object)
	if err != nil || !found || e.Sequencer != newer.Sequencer || e.Worker != "worker-1" {
		t.Fatalf("the worker's commit was clobbered: %+v, %v, %v", e, found, err)
	}
}
