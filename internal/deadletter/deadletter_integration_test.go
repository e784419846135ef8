package deadletter_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/shardline/shardline/internal/deadletter"
	"github.com/shardline/shardline/internal/lab/emulators"
)

// stack is the fixture the dead-letter integration tests share: a fresh dead-letter table on the
// local stack and a Store on it.
type stack struct {
	ctx   context.Context
	db    *dynamodb.Client
	table string
	store *deadletter.Store
}

// newStack creates the table (dropped by t.Cleanup) and the Store; it skips t without the stack.
func newStack(t *testing.T) stack {
	t.Helper()
	clients := emulators.Require(t)
	table := emulators.DeadLetterTable(t, clients.DynamoDB)
	return stack{ctx: context.Background(), db: clients.DynamoDB, table: table,
		store: emulators.DeadLetters(t, clients.DynamoDB, table)}
}

// TestStoreRoundTrip: letters survive the real wire format (binary data, unicode, numbers,
// booleans), a record put twice is one letter, a list spans several scan pages (DynamoDB pages a
// scan at 1 MB), and a deleted letter is gone.
func TestStoreRoundTrip(t *testing.T) {
	st := newStack(t)
	ctx, store := st.ctx, st.store

	at := time.Date(2026, 11, 26, 10, 0, 0, 123456789, time.UTC)
	binary := []byte{0x00, 0xff, 0xfe, '{', 0x80, '\n', 0x00}
	// Five letters of 300,000 bytes each make 1.5 MB: at least two scan pages.
	big := bytes.Repeat([]byte{0xab}, 300_000)
	bigSum := sha256.Sum256(big)
	want := map[string]deadletter.Letter{}
	put := func(l deadletter.Letter) {
		t.Helper()
		if err := store.Put(ctx, l); err != nil {
			t.Fatal(err)
		}
	}

	small := deadletter.Letter{
		Shard: "shardId-000000000000", SequenceNumber: "49650000000000000000000000000000000000000000000000000001",
		PartitionKey: "in/ünï/cødé.png", Data: binary, Reason: "bad_envelope", Error: "décodage: champ «v» manquant",
		Object: "in/ünï/cødé.png", EventID: "ev-1", Attempts: 3, At: at,
	}
	put(small)
	small.Attempts = 4 // the same record again: one letter, the later write wins
	put(small)
	small.DataSize = len(binary)
	want[small.ID()] = small

	for i := range 5 {
		l := deadletter.Letter{
			Shard: "shardId-000000000001", SequenceNumber: fmt.Sprintf("4965%052d", i),
			PartitionKey: fmt.Sprintf("in/big-%d", i), Data: big, Reason: "not_an_image", Error: "too big",
			Attempts: 1, At: at,
		}
		put(l)
		l.Data, l.DataSize, l.DataSHA256, l.DataTruncated = big[:deadletter.MaxDataBytes], len(big), hex.EncodeToString(bigSum[:]), true
		want[l.ID()] = l
	}

	check := func(want map[string]deadletter.Letter) {
		t.Helper()
		got, err := store.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		sort.Slice(got, func(i, j int) bool { return got[i].ID() < got[j].ID() })
		if len(got) != len(want) {
			t.Fatalf("listed %d letters, want %d", len(got), len(want))
		}
		for _, g := range got {
			w, ok := want[g.ID()]
			if !ok {
				t.Errorf("unexpected letter %s", g.ID())
				continue
			}
			if !bytes.Equal(g.Data, w.Data) {
				t.Errorf("letter %s: %d data bytes, want %d (equal prefix: %v)", g.ID(), len(g.Data), len(w.Data), bytes.HasPrefix(w.Data, g.Data))
			}
			if !g.At.Equal(w.At) {
				t.Errorf("letter %s: at %s, want %s", g.ID(), g.At, w.At)
			}
			g.Data, w.Data, g.At, w.At = nil, nil, time.Time{}, time.Time{}
			if !reflect.DeepEqual(g, w) {
				t.Errorf("letter %s:\n got %+v\nwant %+v", g.ID(), g, w)
			}
		}
	}
	check(want)

	if err := store.Delete(ctx, small.ID()); err != nil {
		t.Fatal(err)
	}
	delete(want, small.ID())
	check(want)
}

// TestLetterExpiry: over the wire, a letter put by a Store with a TTL carries expires_at ≈ now +
// TTL (a Number of epoch seconds); without a TTL it carries none.
func TestLetterExpiry(t *testing.T) {
	st := newStack(t)
	ctx, base := st.ctx, st.store
	const ttl = 30 * 24 * time.Hour
	rawExpiry := func(id string) (int64, bool) {
		t.Helper()
		out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(st.table), ConsistentRead: aws.Bool(true),
			Key: map[string]types.AttributeValue{deadletter.AttrID: &types.AttributeValueMemberS{Value: id}}})
		if err != nil || out.Item == nil {
			t.Fatalf("get %s: %v", id, err)
		}
		v, ok := out.Item[deadletter.AttrExpiresAt]
		if !ok {
			return 0, false
		}
		n, ok := v.(*types.AttributeValueMemberN)
		if !ok {
			t.Fatalf("%s is %T, want a Number", deadletter.AttrExpiresAt, v)
		}
		secs, err := strconv.ParseInt(n.Value, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		return secs, true
	}

	expiring := deadletter.Letter{Shard: "shardId-000000000000", SequenceNumber: "1", Data: []byte(`{"v":1}`), Reason: "corrupt_image"}
	want := time.Now().Add(ttl).Unix()
	if err := base.WithTTL(ttl).Put(ctx, expiring); err != nil {
		t.Fatal(err)
	}
	if got, ok := rawExpiry(expiring.ID()); !ok || got < want-5 || got > want+5 {
		t.Fatalf("expires_at %d (present %v), want ≈ now + %s = %d", got, ok, ttl, want)
	}
	kept := deadletter.Letter{Shard: "shardId-000000000000", SequenceNumber: "2", Data: []byte(`{"v":1}`), Reason: "corrupt_image"}
	if err := base.Put(ctx, kept); err != nil {
		t.Fatal(err)
	}
	if got, ok := rawExpiry(kept.ID()); ok {
		t.Fatalf("letter put without a TTL has expires_at %d", got)
	}
	letters, err := base.List(ctx)
	if err != nil || len(letters) != 2 {
		t.Fatalf("list: %v, %d letters", err, len(letters))
	}
	for _, l := range letters {
		if hasExpiry := !l.ExpiresAt.IsZero(); hasExpiry != (l.ID() == expiring.ID()) {
			t.Errorf("letter %s: ExpiresAt %s", l.ID(), l.ExpiresAt)
		}
	}
}
