package deadletter

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// fakeDynamoDB keeps the items put, by id, and rejects items over DynamoDB's 400 KB limit.
type fakeDynamoDB struct {
	items map[string]map[string]types.AttributeValue
}

func (f *fakeDynamoDB) PutItem(_ context.Context, in *dynamodb.PutItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	size := 0
	for name, v := range in.Item {
		size += len(name)
		switch v := v.(type) {
		case *types.AttributeValueMemberS:
			size += len(v.Value)
		case *types.AttributeValueMemberB:
			size += len(v.Value)
		default:
			size += 8
		}
	}
	if size > 400_000 {
		return nil, &types.ItemCollectionSizeLimitExceededException{Message: new(string)}
	}
	f.items[in.Item[AttrID].(*types.AttributeValueMemberS).Value] = in.Item
	return &dynamodb.PutItemOutput{}, nil
}

func (f *fakeDynamoDB) Scan(context.Context, *dynamodb.ScanInput, ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	out := &dynamodb.ScanOutput{}
	for _, item := range f.items {
		out.Items = append(out.Items, item)
	}
	return out, nil
}

func (f *fakeDynamoDB) DeleteItem(context.Context, *dynamodb.DeleteItemInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	return &dynamodb.DeleteItemOutput{}, nil
}

// TestPutBoundsTheItem: whatever the record, the letter fits a DynamoDB item, so storing it
// (which the processor retries until it succeeds) cannot fail for its size and stop the shard.
func TestPutBoundsTheItem(t *testing.T) {
	tests := []struct {
		name      string
		data      []byte
		errText   string
		truncated bool
	}{
		{"small record kept whole", []byte("not an envelope"), "bad_envelope", false},
		{"record at the bound kept whole", bytes.Repeat([]byte("a"), MaxDataBytes), "x", false},
		{"1 MiB record truncated", bytes.Repeat([]byte("b"), 1<<20), "x", true},
		{"10 MiB record truncated", bytes.Repeat([]byte("c"), 10<<20), "x", true},
		{"long error cut at a rune boundary", []byte("d"), strings.Repeat("✓", 5000), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := &fakeDynamoDB{items: map[string]map[string]types.AttributeValue{}}
			s, err := New(db, "dead")
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Put(context.Background(), Letter{Shard: "shardId-0", SequenceNumber: "1", Data: tc.data, Reason: "bad_envelope", Error: tc.errText}); err != nil {
				t.Fatalf("Put: %v", err)
			}
			letters, err := s.List(context.Background())
			if err != nil || len(letters) != 1 {
				t.Fatalf("List: %d letters, %v", len(letters), err)
			}
			l := letters[0]
			if l.DataSize != len(tc.data) || l.DataTruncated != tc.truncated || !bytes.HasPrefix(tc.data, l.Data) {
				t.Fatalf("letter keeps %d bytes, size %d, truncated %v; want size %d, truncated %v", len(l.Data), l.DataSize, l.DataTruncated, len(tc.data), tc.truncated)
			}
			sum := sha256.Sum256(tc.data)
			switch {
			case tc.truncated && (len(l.Data) != MaxDataBytes || l.DataSHA256 != hex.EncodeToString(sum[:])):
				t.Errorf("truncated letter keeps %d bytes and digest %q", len(l.Data), l.DataSHA256)
			case !tc.truncated && (!bytes.Equal(l.Data, tc.data) || l.DataSHA256 != ""):
				t.Errorf("letter does not keep the record as read")
			}
			if len(l.Error) > maxErrorLen || !utf8.ValidString(l.Error) || !strings.HasPrefix(tc.errText, l.Error) {
				t.Errorf("error text of %d bytes (valid UTF-8 %v)", len(l.Error), utf8.ValidString(l.Error))
			}
		})
	}
}
