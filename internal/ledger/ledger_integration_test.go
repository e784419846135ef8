package ledger_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/shardline/shardline/internal/envelope"
	"github.com/shardline/shardline/internal/ledger"
	"github.com/shardline/shardline/internal/sequencer"
)

// The ledger's integration tests, over the wire on the shared fixture (newStack): the conditional
// commit, reopen, tombstone expiry and reset.

// --- Commit ---

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

// --- Reopen ---

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

// --- Tombstone expiry ---

// TestTombstoneExpiry: over the wire, a committed tombstone carries expires_at ≈ now + TTL; a
// live commit after it replaces the item without the attribute; a tombstone again sets it again.
func TestTombstoneExpiry(t *testing.T) {
	st := newStack(t)
	ctx, base := st.ctx, st.l
	const ttl = 9 * 24 * time.Hour
	l := base.WithTombstoneTTL(ttl)
	const object = "in/gone.jpg"
	// rawExpiry reads the item's expires_at as stored (not through Entry): 0 when absent.
	rawExpiry := func() int64 {
		t.Helper()
		out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(st.table), ConsistentRead: aws.Bool(true),
			Key: map[string]types.AttributeValue{ledger.AttrObject: &types.AttributeValueMemberS{Value: object}}})
		if err != nil || out.Item == nil {
			t.Fatalf("get %s: %v (item %v)", object, err, out.Item)
		}
		v, ok := out.Item[ledger.AttrExpiresAt]
		if !ok {
			return 0
		}
		n, ok := v.(*types.AttributeValueMemberN)
		if !ok {
			t.Fatalf("%s is %T, want a Number", ledger.AttrExpiresAt, v)
		}
		var secs int64
		if _, err := fmt.Sscan(n.Value, &secs); err != nil {
			t.Fatalf("%s = %q: %v", ledger.AttrExpiresAt, n.Value, err)
		}
		return secs
	}
	commit := func(seq, op string) {
		t.Helper()
		if err := l.Commit(ctx, ledger.Entry{Object: object, Sequencer: mustNormalize(t, seq), Op: op, Outcome: ledger.OutcomeApplied, EventID: seq}); err != nil {
			t.Fatalf("commit %s %s: %v", op, seq, err)
		}
	}
	near := func(what string) {
		t.Helper()
		before := time.Now().Add(ttl).Unix()
		got := rawExpiry()
		if got < before-5 || got > before+5 {
			t.Fatalf("%s: expires_at %d, want ≈ now + %s = %d", what, got, ttl, before)
		}
		if e, _ := st.get(object); e.ExpiresAt.Unix() != got {
			t.Errorf("%s: Entry.ExpiresAt %s, stored %d", what, e.ExpiresAt, got)
		}
	}

	commit("0A", "delete")
	near("tombstone")
	commit("0B", "put")
	if got := rawExpiry(); got != 0 {
		t.Fatalf("live entry after a tombstone still has expires_at %d", got)
	}
	commit("0C", "delete")
	near("tombstone after a live entry")
	// A Ledger without a TTL (New's default) writes none, tombstone or not.
	if err := base.Commit(ctx, ledger.Entry{Object: object, Sequencer: mustNormalize(t, "0D"), Op: "delete", Outcome: ledger.OutcomeApplied}); err != nil {
		t.Fatal(err)
	}
	if got := rawExpiry(); got != 0 {
		t.Fatalf("tombstone committed without a TTL has expires_at %d", got)
	}
}

// --- Reset ---

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
