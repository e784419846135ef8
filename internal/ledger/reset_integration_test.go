package ledger_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/shardline/shardline/internal/ledger"
	"github.com/shardline/shardline/internal/sequencer"
)

// TestResetRefusesAnEntryChangedSinceItWasRead: Reset deletes the entry it read, and refuses
// (ErrChanged, entry untouched) when a commit, or a reopen that only lowers the epoch, happened
// between the read and the reset.
func TestResetRefusesAnEntryChangedSinceItWasRead(t *testing.T) {
	st := newStack(t)
	ctx, l, get := st.ctx, st.l, st.get
	frozen := strings.Repeat("F", sequencer.Width)
	commit := func(object, seq, outcome string) {
		t.Helper()
		if err := l.Commit(ctx, ledger.Entry{Object: object, Sequencer: seq, Op: "put", Outcome: outcome, EventID: "ev-" + seq}); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("unchanged entry is deleted", func(t *testing.T) {
		commit("in/a.jpg", frozen, ledger.OutcomeApplied)
		read, _ := get("in/a.jpg")
		if err := l.Reset(ctx, read); err != nil {
			t.Fatalf("Reset: %v", err)
		}
		if e, found := get("in/a.jpg"); found {
			t.Fatalf("entry still there: %+v", e)
		}
		// Resetting again finds no entry: done already.
		if err := l.Reset(ctx, read); err != nil {
			t.Fatalf("second Reset: %v", err)
		}
	})
	t.Run("commit between read and reset", func(t *testing.T) {
		lower := mustNormalize(t, "0A")
		commit("in/b.jpg", lower, ledger.OutcomeApplied)
		read, _ := get("in/b.jpg")
		newer := mustNormalize(t, "0B")
		commit("in/b.jpg", newer, ledger.OutcomeApplied) // a worker, meanwhile
		err := l.Reset(ctx, read)
		if !errors.Is(err, ledger.ErrChanged) {
			t.Fatalf("Reset = %v, want ErrChanged", err)
		}
		if e, found := get("in/b.jpg"); !found || e.Sequencer != newer {
			t.Fatalf("the worker's commit was clobbered: %+v, found %v", e, found)
		}
	})
	t.Run("reopen between read and reset", func(t *testing.T) {
		commit("in/c.jpg", frozen, ledger.OutcomeDeadLettered)
		read, _ := get("in/c.jpg")
		if res, err := l.Reopen(ctx, "in/c.jpg", "ev-"+frozen, frozen); err != nil || res != ledger.Reopened {
			t.Fatalf("Reopen = %v, %v", res, err)
		}
		if err := l.Reset(ctx, read); !errors.Is(err, ledger.ErrChanged) {
			t.Fatalf("Reset = %v, want ErrChanged", err)
		}
		if e, found := get("in/c.jpg"); !found || !e.Reopened {
			t.Fatalf("the reopened entry was clobbered: %+v, found %v", e, found)
		}
	})
}
