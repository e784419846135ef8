package ledger_test

import (
	"errors"
	"testing"
	"time"

	"github.com/shardline/shardline/internal/envelope"
	"github.com/shardline/shardline/internal/ledger"
)

func TestReopenLetsTheDeadLetteredEventApplyAgain(t *testing.T) {
	st := newStack(t)
	ctx, l := st.ctx, st.l
	ev := func(seq string) envelope.Event {
		e, err := envelope.New("aws:s3", "ObjectCreated:Put", "in", "a.jpg", envelope.OpPut, seq, "etag", "", 1, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	older, dead, newer := ev("0A"), ev("0B"), ev("0C")
	commit := func(e envelope.Event, outcome string) error {
		return l.Commit(ctx, ledger.Entry{Object: e.ObjectID(), Sequencer: e.Sequencer, Op: e.Op, Outcome: outcome, EventID: e.ID})
	}

	if got, err := l.Reopen(ctx, dead.ObjectID(), dead.ID, dead.Sequencer); err != nil || got != ledger.Pending {
		t.Fatalf("no entry: %v, %v; want pending (the dead-lettering has not committed)", got, err)
	}
	if err := commit(older, ledger.OutcomeApplied); err != nil {
		t.Fatal(err)
	}
	if got, err := l.Reopen(ctx, dead.ObjectID(), dead.ID, dead.Sequencer); err != nil || got != ledger.Pending {
		t.Fatalf("an older entry: %v, %v; want pending", got, err)
	}
	if err := commit(dead, ledger.OutcomeDeadLettered); err != nil {
		t.Fatal(err)
	}
	if err := commit(dead, ledger.OutcomeApplied); !errors.Is(err, ledger.ErrConflict) {
		t.Fatalf("before Reopen the dead-lettered event must be a duplicate: %v", err)
	}
	for i := 0; i < 2; i++ { // twice: Reopen is repeatable
		if got, err := l.Reopen(ctx, dead.ObjectID(), dead.ID, dead.Sequencer); err != nil || got != ledger.Reopened {
			t.Fatalf("reopen #%d: %v, %v", i+1, got, err)
		}
	}
	e, _ := st.get(dead.ObjectID())
	if e.Outcome != ledger.OutcomeDeadLettered || e.Sequencer != dead.Sequencer || e.Epoch != -1 || !e.Reopened {
		t.Fatalf("reopened entry %+v: want dead_lettered at %s in epoch -1", e, dead.Sequencer)
	}
	if ledger.Decide(e, true, 0, older) != ledger.Stale || ledger.Decide(e, true, 0, dead) != ledger.Apply {
		t.Fatal("after Reopen, older events must stay stale and the dead-lettered one apply")
	}
	if err := commit(dead, ledger.OutcomeApplied); err != nil {
		t.Fatalf("the redriven event could not commit: %v", err)
	}
	if err := commit(newer, ledger.OutcomeDeadLettered); err != nil {
		t.Fatal(err)
	}
	if got, err := l.Reopen(ctx, dead.ObjectID(), dead.ID, dead.Sequencer); err != nil || got != ledger.Superseded {
		t.Fatalf("a newer event holds the entry: %v, %v", got, err)
	}
	if e, _ := st.get(dead.ObjectID()); e.Sequencer != newer.Sequencer {
		t.Fatalf("Reopen of a superseded event changed the entry: %+v", e)
	}
}
