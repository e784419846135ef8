package ledger_test

import (
	"errors"
	"testing"

	"github.com/shardline/shardline/internal/ledger"
)

func TestCommitIsConditional(t *testing.T) {
	st := newStack(t)
	ctx, l := st.ctx, st.l
	seq := func(s string) string { return mustNormalize(t, s) }
	entry := func(s string, epoch int64) ledger.Entry {
		return ledger.Entry{Object: "in/a.jpg", Sequencer: seq(s), Epoch: epoch, Op: "put", Outcome: ledger.OutcomeApplied}
	}
	steps := []struct {
		name     string
		e        ledger.Entry
		conflict bool
	}{
		{"first commit", entry("0B", 0), false},
		{"newer commit", entry("0C", 0), false},
		{"same again conflicts", entry("0C", 0), true},
		{"older conflicts", entry("0A", 0), true},
		{"older in a newer epoch conflicts", entry("0A", 1), true},
		{"same in a newer epoch applies", entry("0C", 1), false},
		{"same in that epoch again conflicts", entry("0C", 1), true},
		{"same in an older epoch conflicts", entry("0C", 0), true},
		{"newer in an older epoch applies", entry("0F", 0), false},
	}
	for _, step := range steps {
		err := l.Commit(ctx, step.e)
		if got := errors.Is(err, ledger.ErrConflict); got != step.conflict || (!step.conflict && err != nil) {
			t.Fatalf("%s: err = %v, want conflict %v", step.name, err, step.conflict)
		}
	}
	if got, found := st.get("in/a.jpg"); !found || got.Sequencer != seq("0F") || got.Epoch != 0 {
		t.Fatalf("final entry %+v found=%v; want 0F in epoch 0", got, found)
	}

	if e, err := l.Epoch(ctx); err != nil || e != 0 {
		t.Fatalf("initial epoch %d, %v", e, err)
	}
	for want := int64(1); want <= 2; want++ {
		if e, err := l.BumpEpoch(ctx); err != nil || e != want {
			t.Fatalf("BumpEpoch = %d, %v; want %d", e, err, want)
		}
	}
	if e, _ := l.Epoch(ctx); e != 2 {
		t.Fatalf("epoch after two bumps = %d", e)
	}
}
