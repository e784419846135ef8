// Package ledger is the per-object record of the last event applied, kept in DynamoDB. It is the
// single authority on ordering: an event is applied only if its sequencer is greater than the
// ledger's, or equal with a greater epoch (an epoch re-applies the very event the ledger holds,
// never an older one), and the commit is a conditional write, so two workers can never both move
// one object's ledger to different events, nor move it backwards.
package ledger

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/shardline/shardline/internal/awsretry"
	"github.com/shardline/shardline/internal/envelope"
	"github.com/shardline/shardline/internal/expiry"
)

// Attribute names of the ledger table. The hash key is AttrObject (S) = bucket + "/" + key.
const (
	AttrObject     = "object"
	AttrSequencer  = "sequencer"
	AttrEpoch      = "epoch"
	AttrOp         = "op"
	AttrOutcome    = "outcome"
	AttrEventID    = "eventId"
	AttrSourceETag = "sourceETag"
	AttrOutputETag = "outputETag"
	AttrWorker     = "worker"
	AttrShard      = "shard"
	AttrUpdatedAt  = "updatedAt"
)

// EpochItem is the object value of the table's control item holding the current epoch. It can
// never collide with an object ID, which always contains a '/'.
const EpochItem = "#epoch"

// Outcomes recorded in the ledger.
const (
	OutcomeApplied      = "applied"
	OutcomeDeadLettered = "dead_lettered"
)

// Decision is what the ledger rule says about an event.
type Decision int

// Decisions, in the order the rule checks them.
const (
	Apply     Decision = iota + 1 // a greater sequencer, or the same one in a greater epoch
	Duplicate                     // the same sequencer in the same epoch
	Stale                         // a smaller sequencer, or the same one in a smaller epoch
)

func (d Decision) String() string {
	switch d {
	case Apply:
		return "apply"
	case Duplicate:
		return "duplicate"
	case Stale:
		return "stale"
	}
	return "unknown"
}

// Entry is one object's ledger item.
type Entry struct {
	Object     string
	Sequencer  string // normalised
	Epoch      int64
	Op         string
	Outcome    string
	EventID    string
	SourceETag string
	OutputETag string
	Worker     string
	Shard      string
	UpdatedAt  time.Time
	// Reopened is set on an entry ledger.Reopen lowered the epoch of, until the next commit.
	Reopened bool
	// ExpiresAt is when DynamoDB's TTL may delete the entry (AttrExpiresAt); zero: never. Commit
	// sets it (see ExpiresAt and WithTombstoneTTL), whatever the caller put in it.
	ExpiresAt time.Time
}

// Decide applies the ledger rule to an event about to be applied in epoch. found is false when the
// object has no ledger entry yet (everything applies). The sequencer always decides the order;
// the epoch only breaks a tie, so that a reprocess with a bumped epoch re-applies the event the
// ledger holds and nothing older (an older delete replayed in a newer epoch must not remove a
// live input's output). Sequencers are normalised, so string order is S3 order.
func Decide(e Entry, found bool, epoch int64, ev envelope.Event) Decision {
	if !found {
		return Apply
	}
	switch {
	case ev.Sequencer > e.Sequencer:
		return Apply
	case ev.Sequencer < e.Sequencer:
		return Stale
	case epoch > e.Epoch:
		return Apply
	case epoch == e.Epoch:
		return Duplicate
	default:
		return Stale
	}
}

// DynamoDB is the part of *dynamodb.Client the ledger uses.
type DynamoDB interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

// Ledger reads and conditionally writes ledger entries.
type Ledger struct {
	client       DynamoDB
	table        string
	tombstoneTTL time.Duration // see WithTombstoneTTL
}

// New returns a Ledger on table.
func New(client DynamoDB, table string) (*Ledger, error) {
	if client == nil || table == "" {
		return nil, errors.New("ledger: client and table are required")
	}
	return &Ledger{client: client, table: table}, nil
}

// ErrConflict is returned by Commit when the ledger already holds an event at least as new: some
// other attempt (a duplicate, or another worker) committed first.
var ErrConflict = errors.New("ledger conflict: a newer or equal event is already committed")

// Get reads an object's entry with a strongly consistent read.
func (l *Ledger) Get(ctx context.Context, object string) (Entry, bool, error) {
	out, err := l.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(l.table),
		ConsistentRead: aws.Bool(true),
		Key:            map[string]types.AttributeValue{AttrObject: s(object)},
	})
	if err != nil {
		return Entry{}, false, fmt.Errorf("ledger get %s: %w", object, err)
	}
	if out.Item == nil {
		return Entry{}, false, nil
	}
	return entryOf(out.Item), true, nil
}

// commitCondition is Decide's Apply as a DynamoDB condition: no entry, or a smaller stored
// sequencer, or the same sequencer in a smaller epoch. It relies on
// DynamoDB's precedence (AND binds tighter than OR) instead of parentheses around the last two
// comparisons: the meaning is the same, and dynalite's expression parser, which the local stack
// runs on every write, spends about 150 µs of CPU less per commit without them (its backtracking
// over a parenthesised group was a third of a conditional write's cost there).
const commitCondition = "attribute_not_exists(#o) OR #s < :s OR #s = :s AND #e < :e"

// Commit records e as the object's last event, only if Decide would apply it against the stored
// entry (a smaller sequencer, or the same one in a smaller epoch).
// It returns ErrConflict (wrapped) otherwise. The entry replaces the stored item whole; it
// carries AttrExpiresAt only if it is a tombstone and the Ledger has a tombstone TTL.
func (l *Ledger) Commit(ctx context.Context, e Entry) error {
	if e.UpdatedAt.IsZero() {
		e.UpdatedAt = time.Now()
	}
	e.ExpiresAt, _ = ExpiresAt(e, l.tombstoneTTL)
	_, err := l.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:           aws.String(l.table),
		Item:                itemOf(e),
		ConditionExpression: aws.String(commitCondition),
		ExpressionAttributeNames: map[string]string{
			"#o": AttrObject, "#e": AttrEpoch, "#s": AttrSequencer,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":e": n(e.Epoch), ":s": s(e.Sequencer),
		},
	})
	if err != nil {
		if !conditionFailed(err) {
			return fmt.Errorf("ledger commit %s: %w", e.Object, err)
		}
		// The condition fails also when this very write committed and its response was lost:
		// the SDK retried it, and the retry met our own item. Read it back; the commit time
		// (to the nanosecond) makes our item recognisable.
		got, found, getErr := l.Get(ctx, e.Object)
		if getErr == nil && found && sameCommit(got, e) {
			return nil
		}
		return fmt.Errorf("ledger commit %s at %s: %w", e.Object, e.Sequencer, ErrConflict)
	}
	return nil
}

// sameCommit reports whether the stored entry got is the one Commit wrote for e.
func sameCommit(got, e Entry) bool {
	return got.Sequencer == e.Sequencer && got.Epoch == e.Epoch && got.EventID == e.EventID &&
		got.Outcome == e.Outcome && got.Worker == e.Worker &&
		stamp(got.UpdatedAt).Value == stamp(e.UpdatedAt).Value
}

// conditionFailed reports whether err is a conditional write's condition failing: the entry
// holds something else than the write required. Every conditional write of the ledger (Commit,
// Reopen, Reset) then reads the entry again (Get) to tell what happened.
func conditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}

// Epoch returns the current epoch (0 when never set).
func (l *Ledger) Epoch(ctx context.Context) (int64, error) {
	e, found, err := l.Get(ctx, EpochItem)
	if err != nil || !found {
		return 0, err
	}
	return e.Epoch, nil
}

// BumpEpoch raises the current epoch by one and returns the new value.
func (l *Ledger) BumpEpoch(ctx context.Context) (int64, error) {
	out, err := l.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(l.table),
		Key:                       map[string]types.AttributeValue{AttrObject: s(EpochItem)},
		UpdateExpression:          aws.String("ADD #e :one SET #u = :now"),
		ExpressionAttributeNames:  map[string]string{"#e": AttrEpoch, "#u": AttrUpdatedAt},
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": n(1), ":now": stamp(time.Now())},
		ReturnValues:              types.ReturnValueUpdatedNew,
	})
	if err != nil {
		return 0, fmt.Errorf("bump epoch: %w", err)
	}
	v, _ := out.Attributes[AttrEpoch].(*types.AttributeValueMemberN)
	if v == nil {
		return 0, errors.New("bump epoch: no epoch returned")
	}
	return strconv.ParseInt(v.Value, 10, 64)
}

func itemOf(e Entry) map[string]types.AttributeValue {
	item := make(map[string]types.AttributeValue, 12) // every attribute: no growth
	item[AttrObject] = s(e.Object)
	item[AttrSequencer] = s(e.Sequencer)
	item[AttrEpoch] = n(e.Epoch)
	item[AttrOp] = s(e.Op)
	item[AttrOutcome] = s(e.Outcome)
	item[AttrUpdatedAt] = stamp(e.UpdatedAt)
	expiry.Set(item, e.ExpiresAt)
	// An array, not a map literal: this runs once per commit, and ranging over a map literal
	// builds the map first.
	for _, a := range [...]struct{ name, v string }{
		{AttrEventID, e.EventID}, {AttrSourceETag, e.SourceETag}, {AttrOutputETag, e.OutputETag},
		{AttrWorker, e.Worker}, {AttrShard, e.Shard},
	} {
		if a.v != "" {
			item[a.name] = s(a.v)
		}
	}
	return item
}

func entryOf(item map[string]types.AttributeValue) Entry {
	get := func(name string) string {
		if v, ok := item[name].(*types.AttributeValueMemberS); ok {
			return v.Value
		}
		return ""
	}
	var epoch int64
	if v, ok := item[AttrEpoch].(*types.AttributeValueMemberN); ok {
		epoch, _ = strconv.ParseInt(v.Value, 10, 64)
	}
	at, _ := time.Parse(time.RFC3339Nano, get(AttrUpdatedAt))
	return Entry{
		Object: get(AttrObject), Sequencer: get(AttrSequencer), Epoch: epoch, Op: get(AttrOp),
		Outcome: get(AttrOutcome), EventID: get(AttrEventID), SourceETag: get(AttrSourceETag),
		OutputETag: get(AttrOutputETag), Worker: get(AttrWorker), Shard: get(AttrShard), UpdatedAt: at,
		Reopened: item[AttrReopenedFrom] != nil, ExpiresAt: expiry.Get(item),
	}
}

func s(v string) *types.AttributeValueMemberS { return &types.AttributeValueMemberS{Value: v} }

// stamp is a time as AttrUpdatedAt holds it (UTC, RFC 3339 to the nanosecond, which makes a
// commit recognisable: see sameCommit, Reset).
func stamp(t time.Time) *types.AttributeValueMemberS { return s(t.UTC().Format(time.RFC3339Nano)) }
func n(v int64) *types.AttributeValueMemberN {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

// batchGetMax is DynamoDB's BatchGetItem limit on keys per call.
const batchGetMax = 100

// BatchDynamoDB is what BatchGet needs in addition to DynamoDB.
type BatchDynamoDB interface {
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
}

// BatchGet reads the entries of many objects with strongly consistent BatchGetItem calls (100
// keys per call), retrying unprocessed keys with backoff until ctx ends. Objects without an
// entry are absent from the map.
func (l *Ledger) BatchGet(ctx context.Context, objects []string) (map[string]Entry, error) {
	bc, ok := l.client.(BatchDynamoDB)
	if !ok {
		return nil, errors.New("ledger: client has no BatchGetItem")
	}
	out := make(map[string]Entry, len(objects))
	seen := map[string]bool{}
	var keys []map[string]types.AttributeValue
	for _, o := range objects {
		if !seen[o] {
			seen[o] = true
			keys = append(keys, map[string]types.AttributeValue{AttrObject: s(o)})
		}
	}
	for len(keys) > 0 {
		n := min(len(keys), batchGetMax)
		pending := keys[:n]
		keys = keys[n:]
		for attempt := 0; len(pending) > 0; attempt++ {
			if attempt > 0 {
				t := time.NewTimer(awsretry.Backoff(40*time.Millisecond, 1280*time.Millisecond, attempt))
				select {
				case <-ctx.Done():
					t.Stop()
					return nil, ctx.Err()
				case <-t.C:
				}
			}
			res, err := bc.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
				l.table: {Keys: pending, ConsistentRead: aws.Bool(true)},
			}})
			if err != nil {
				return nil, fmt.Errorf("ledger batch get (%d keys): %w", len(pending), err)
			}
			for _, item := range res.Responses[l.table] {
				e := entryOf(item)
				out[e.Object] = e
			}
			pending = res.UnprocessedKeys[l.table].Keys
		}
	}
	return out, nil
}
