package ledger_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/shardline/shardline/internal/ledger"
)

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
