package deadletter_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/shardline/shardline/internal/deadletter"
	"github.com/shardline/shardline/internal/lab/emulators"
)

// TestLetterExpiry: over the wire, a letter put by a Store with a TTL carries expires_at ≈ now +
// TTL (a Number of epoch seconds); without a TTL it carries none.
func TestLetterExpiry(t *testing.T) {
	clients := emulators.Require(t)
	table := emulators.DeadLetterTable(t, clients.DynamoDB)
	ctx := context.Background()
	base := emulators.DeadLetters(t, clients.DynamoDB, table)
	const ttl = 30 * 24 * time.Hour
	rawExpiry := func(id string) (int64, bool) {
		t.Helper()
		out, err := clients.DynamoDB.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true),
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
