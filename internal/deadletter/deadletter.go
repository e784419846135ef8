// Package deadletter stores records that could not be applied, with the reason, in a DynamoDB
// table. A dead letter keeps the raw record bytes, so it can be redriven into the stream
// unchanged, and the decoded object when the record was decodable.
package deadletter

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/shardline/shardline/internal/expiry"
)

// Attribute names of the dead-letter table; the hash key is AttrID (S).
const (
	AttrID             = "id"
	AttrReason         = "reason"
	AttrError          = "error"
	AttrData           = "data"
	AttrPartitionKey   = "partitionKey"
	AttrShard          = "shard"
	AttrSequenceNumber = "sequenceNumber"
	AttrObject         = "object"
	AttrEventID        = "eventId"
	AttrAttempts       = "attempts"
	AttrAt             = "at"
	AttrDataSize       = "dataSize"
	AttrDataSHA256     = "dataSha256"
	AttrDataTruncated  = "dataTruncated"
	// AttrExpiresAt (N, epoch seconds) is the table's DynamoDB time-to-live attribute, written by
	// a Store with a TTL (WithTTL); DynamoDB deletes the letter some time after that second.
	AttrExpiresAt = expiry.Attr
)

// maxErrorLen bounds the stored error text (DynamoDB items are limited to 400 KB).
const maxErrorLen = 2048

// MaxDataBytes bounds the record bytes a dead letter keeps. Kinesis records reach 1 MiB but a
// DynamoDB item only 400 KB, and a dead letter is retried until it is stored: without the bound
// one large record that is not our envelope would stop its shard for good. A longer record keeps
// its first MaxDataBytes, with DataTruncated set and the whole record's size and SHA-256.
const MaxDataBytes = 256 << 10

// Letter is one dead-lettered record.
type Letter struct {
	Shard          string // the shard it was read from
	SequenceNumber string // its Kinesis sequence number
	PartitionKey   string
	Data           []byte // the record exactly as read, or its first MaxDataBytes (DataTruncated)
	// DataSize is the length of the whole record; DataSHA256 its hex SHA-256, kept when the
	// record was truncated; DataTruncated says Data is only a prefix (such a letter cannot be
	// redriven as is). Put fills them in; a caller need not.
	DataSize      int
	DataSHA256    string
	DataTruncated bool
	Reason        string // stable label, e.g. "not_an_image", "bad_envelope"
	Error         string // the full error text
	Object        string // bucket/key when the record decoded, else ""
	EventID       string // envelope id when the record decoded, else ""
	Attempts      int
	At            time.Time
	// ExpiresAt is when DynamoDB's TTL may delete the letter; zero: never. Put sets it from the
	// Store's TTL, whatever the caller put in it.
	ExpiresAt time.Time
}

// ID is the dead letter's key: one record (shard, sequence number) is dead-lettered at most once,
// however often the write is retried.
func (l Letter) ID() string { return l.Shard + "/" + l.SequenceNumber }

// DynamoDB is the part of *dynamodb.Client the store uses.
type DynamoDB interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
}

// Store writes and lists dead letters.
type Store struct {
	client DynamoDB
	table  string
	ttl    time.Duration // see WithTTL
}

// New returns a Store on table.
func New(client DynamoDB, table string) (*Store, error) {
	if client == nil || table == "" {
		return nil, errors.New("deadletter: client and table are required")
	}
	return &Store{client: client, table: table}, nil
}

// WithTTL returns a Store on the same table whose letters expire ttl after they were written
// (Letter.At): Put sets AttrExpiresAt, and DynamoDB's TTL deletes the letter some time after it.
// ttl ≤ 0 means letters never expire, the default of New.
func (s *Store) WithTTL(ttl time.Duration) *Store {
	c := *s
	c.ttl = max(ttl, 0)
	return &c
}

// TTL is how long after being written a letter expires (0: never).
func (s *Store) TTL() time.Duration { return s.ttl }

// Put stores a letter; writing the same record twice keeps one item. A record longer than
// MaxDataBytes is stored truncated (see Letter), so that every letter fits a DynamoDB item. With
// a TTL (WithTTL) the letter carries AttrExpiresAt = At + TTL.
func (s *Store) Put(ctx context.Context, l Letter) error {
	if l.At.IsZero() {
		l.At = time.Now()
	}
	l.ExpiresAt, _ = expiry.At(l.At, s.ttl)
	l.Error = clip(l.Error, maxErrorLen)
	l.DataSize = len(l.Data)
	if len(l.Data) > MaxDataBytes {
		sum := sha256.Sum256(l.Data)
		l.Data, l.DataSHA256, l.DataTruncated = l.Data[:MaxDataBytes], hex.EncodeToString(sum[:]), true
	}
	item := map[string]types.AttributeValue{
		AttrID:             sv(l.ID()),
		AttrReason:         sv(l.Reason),
		AttrShard:          sv(l.Shard),
		AttrSequenceNumber: sv(l.SequenceNumber),
		AttrAttempts:       &types.AttributeValueMemberN{Value: strconv.Itoa(l.Attempts)},
		AttrAt:             sv(l.At.UTC().Format(time.RFC3339Nano)),
		AttrDataSize:       &types.AttributeValueMemberN{Value: strconv.Itoa(l.DataSize)},
	}
	expiry.Set(item, l.ExpiresAt)
	if l.DataTruncated {
		item[AttrDataTruncated] = &types.AttributeValueMemberBOOL{Value: true}
		item[AttrDataSHA256] = sv(l.DataSHA256)
	}
	if len(l.Data) > 0 {
		item[AttrData] = &types.AttributeValueMemberB{Value: l.Data}
	}
	for name, v := range map[string]string{AttrError: l.Error, AttrPartitionKey: l.PartitionKey, AttrObject: l.Object, AttrEventID: l.EventID} {
		if v != "" {
			item[name] = sv(v)
		}
	}
	if _, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item}); err != nil {
		return fmt.Errorf("dead-letter %s (%s): %w", l.ID(), l.Reason, err)
	}
	return nil
}

// List returns every dead letter (consistent scan).
func (s *Store) List(ctx context.Context) ([]Letter, error) {
	var out []Letter
	p := dynamodb.NewScanPaginator(s.client, &dynamodb.ScanInput{TableName: aws.String(s.table), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list dead letters: %w", err)
		}
		for _, item := range page.Items {
			out = append(out, letterOf(item))
		}
	}
	return out, nil
}

// Delete removes one dead letter by ID.
func (s *Store) Delete(ctx context.Context, id string) error {
	_, err := s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(s.table),
		Key:       map[string]types.AttributeValue{AttrID: sv(id)},
	})
	if err != nil {
		return fmt.Errorf("delete dead letter %s: %w", id, err)
	}
	return nil
}

func letterOf(item map[string]types.AttributeValue) Letter {
	get := func(name string) string {
		if v, ok := item[name].(*types.AttributeValueMemberS); ok {
			return v.Value
		}
		return ""
	}
	l := Letter{
		Shard: get(AttrShard), SequenceNumber: get(AttrSequenceNumber), PartitionKey: get(AttrPartitionKey),
		Reason: get(AttrReason), Error: get(AttrError), Object: get(AttrObject), EventID: get(AttrEventID),
	}
	if b, ok := item[AttrData].(*types.AttributeValueMemberB); ok {
		l.Data = b.Value
	}
	if v, ok := item[AttrAttempts].(*types.AttributeValueMemberN); ok {
		l.Attempts, _ = strconv.Atoi(v.Value)
	}
	l.DataSize = len(l.Data)
	if v, ok := item[AttrDataSize].(*types.AttributeValueMemberN); ok {
		l.DataSize, _ = strconv.Atoi(v.Value)
	}
	if v, ok := item[AttrDataTruncated].(*types.AttributeValueMemberBOOL); ok {
		l.DataTruncated = v.Value
	}
	l.ExpiresAt = expiry.Get(item)
	l.DataSHA256 = get(AttrDataSHA256)
	l.At, _ = time.Parse(time.RFC3339Nano, get(AttrAt))
	return l
}

func sv(v string) *types.AttributeValueMemberS { return &types.AttributeValueMemberS{Value: v} }

// clip cuts s to at most n bytes at a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
