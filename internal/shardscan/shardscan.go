// Package shardscan reads positions in a Kinesis shard with bounded work: how many records lie
// between a checkpoint and the tip, the first record at or after a time, and the record just
// before a given one (Kinesis can only read forwards). The operations commands use it to show lag
// (status) and to turn a time or a sequence number into a checkpoint (reprocess).
//
// Every method reads at most Reader.Limit records and makes a bounded number of calls; a bound
// that is reached is reported (Scan's Complete is false, or ErrLimit), never silently treated as
// the answer. GetRecords calls count against the shard's read limit (5 calls a second, shared with
// the workers), so these methods are for operators' commands, not for hot paths.
package shardscan

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/shardline/shardline/internal/shardmap"
)

// Kinesis is the part of *kinesis.Client the reader uses.
type Kinesis interface {
	GetShardIterator(ctx context.Context, in *kinesis.GetShardIteratorInput, optFns ...func(*kinesis.Options)) (*kinesis.GetShardIteratorOutput, error)
	GetRecords(ctx context.Context, in *kinesis.GetRecordsInput, optFns ...func(*kinesis.Options)) (*kinesis.GetRecordsOutput, error)
}

// Stream is what the commands that list a stream's shards and read them (status, reprocess) need;
// *kinesis.Client implements it.
type Stream interface {
	shardmap.Lister
	Kinesis
}

// Defaults of Reader's zero fields.
const (
	DefaultLimit           = 10000
	DefaultIteratorTimeout = 5 * time.Second
	// maxEmptyReads bounds consecutive empty GetRecords answers that say the tip is still ahead
	// (Kinesis returns those where a shard has gaps).
	maxEmptyReads = 5
	// maxPerCall is the GetRecords limit.
	maxPerCall = 10000
)

// ErrLimit is returned (wrapped) when an answer needs more than Reader.Limit records read.
var ErrLimit = errors.New("scan limit reached")

// Reader reads shards of one stream.
type Reader struct {
	Client Kinesis // required
	Stream string  // required
	// Limit bounds the records one method call reads; default DefaultLimit.
	Limit int
	// IteratorTimeout bounds a GetShardIterator AT_TIMESTAMP call; default 5s. kinesalite never
	// answers one when no record is at or after the time, and Reader then falls back to reading
	// from TRIM_HORIZON (bounded by Limit). AWS always answers.
	IteratorTimeout time.Duration
}

func (r *Reader) limit() int {
	if r.Limit <= 0 {
		return DefaultLimit
	}
	return r.Limit
}

func (r *Reader) iteratorTimeout() time.Duration {
	if r.IteratorTimeout <= 0 {
		return DefaultIteratorTimeout
	}
	return r.IteratorTimeout
}

// Record is what the reader reports of a record.
type Record struct {
	Sequence string
	Arrival  time.Time // ApproximateArrivalTimestamp
}

// Position is where a read starts.
type Position struct {
	Type     types.ShardIteratorType
	Sequence string    // for AT_ and AFTER_SEQUENCE_NUMBER
	Time     time.Time // for AT_TIMESTAMP
}

// TrimHorizon is the oldest record still in the shard.
func TrimHorizon() Position { return Position{Type: types.ShardIteratorTypeTrimHorizon} }

// After is the record following sequence number seq.
func After(seq string) Position {
	return Position{Type: types.ShardIteratorTypeAfterSequenceNumber, Sequence: seq}
}

// At is the record with sequence number seq.
func At(seq string) Position {
	return Position{Type: types.ShardIteratorTypeAtSequenceNumber, Sequence: seq}
}

// AtTime is the first record that arrived at or after t.
func AtTime(t time.Time) Position { return Position{Type: types.ShardIteratorTypeAtTimestamp, Time: t} }

// Result describes one scan.
type Result struct {
	Read int // records passed to visit
	// Complete is true when the scan reached the tip of the shard (or its end, for a closed
	// shard) rather than stopping at the limit or because visit said stop.
	Complete bool
	// ShardEnd is true when Kinesis said the scan reached the end of a closed shard (no next
	// iterator). A closed shard can also end a scan with Complete alone: kinesalite says so only
	// one read later.
	ShardEnd bool
	// MillisBehindLatest is what the first GetRecords call reported.
	MillisBehindLatest int64
}

// ErrNoAnswer is returned (wrapped) by Scan when a GetShardIterator AT_TIMESTAMP call did not
// answer within IteratorTimeout (kinesalite, when no record is at or after the time).
var ErrNoAnswer = errors.New("GetShardIterator AT_TIMESTAMP did not answer")

func (r *Reader) iterator(ctx context.Context, shardID string, pos Position) (*string, error) {
	in := &kinesis.GetShardIteratorInput{
		StreamName: aws.String(r.Stream), ShardId: aws.String(shardID), ShardIteratorType: pos.Type,
	}
	callCtx := ctx
	switch pos.Type {
	case types.ShardIteratorTypeAtSequenceNumber, types.ShardIteratorTypeAfterSequenceNumber:
		in.StartingSequenceNumber = aws.String(pos.Sequence)
	case types.ShardIteratorTypeAtTimestamp:
		in.Timestamp = aws.Time(pos.Time)
		var cancel context.CancelFunc
		callCtx, cancel = context.WithTimeout(ctx, r.iteratorTimeout())
		defer cancel()
	}
	out, err := r.Client.GetShardIterator(callCtx, in)
	if err != nil {
		if pos.Type == types.ShardIteratorTypeAtTimestamp && ctx.Err() == nil && callCtx.Err() != nil {
			return nil, fmt.Errorf("shard iterator %s at %s: %w", shardID, pos.Time.Format(time.RFC3339Nano), ErrNoAnswer)
		}
		return nil, fmt.Errorf("shard iterator %s %s: %w", shardID, pos.Type, err)
	}
	return out.ShardIterator, nil
}

// Scan reads shardID from pos, calling visit for each record in order, until visit returns
// false, max records were read (max ≤ 0 means Limit), or the tip or end of the shard is reached.
func (r *Reader) Scan(ctx context.Context, shardID string, pos Position, max int, visit func(Record) bool) (Result, error) {
	if max <= 0 || max > r.limit() {
		max = r.limit()
	}
	it, err := r.iterator(ctx, shardID, pos)
	if err != nil {
		return Result{}, err
	}
	var res Result
	first, empties := true, 0
	for it != nil {
		out, err := r.Client.GetRecords(ctx, &kinesis.GetRecordsInput{
			ShardIterator: it, Limit: aws.Int32(int32(min(max-res.Read, maxPerCall))),
		})
		if err != nil {
			return res, fmt.Errorf("get records %s: %w", shardID, err)
		}
		if first {
			res.MillisBehindLatest, first = aws.ToInt64(out.MillisBehindLatest), false
		}
		for _, rec := range out.Records {
			res.Read++
			if !visit(Record{Sequence: aws.ToString(rec.SequenceNumber), Arrival: aws.ToTime(rec.ApproximateArrivalTimestamp)}) {
				return res, nil
			}
		}
		it = out.NextShardIterator
		switch {
		case it == nil:
			res.Complete, res.ShardEnd = true, true
			return res, nil
		case len(out.Records) == 0 && aws.ToInt64(out.MillisBehindLatest) == 0:
			res.Complete = true
			return res, nil
		case len(out.Records) == 0:
			empties++
			if empties >= maxEmptyReads {
				return res, nil
			}
		default:
			empties = 0
		}
		if res.Read >= max {
			return res, nil
		}
	}
	return res, nil
}

// First returns the first record at pos, if there is one before the tip.
func (r *Reader) First(ctx context.Context, shardID string, pos Position) (Record, bool, error) {
	var got Record
	found := false
	_, err := r.Scan(ctx, shardID, pos, 0, func(rec Record) bool {
		got, found = rec, true
		return false
	})
	if errors.Is(err, ErrNoAnswer) {
		return r.firstArrivedBy(ctx, shardID, pos.Time)
	}
	return got, found, err
}

// firstArrivedBy finds the first record that arrived at or after t by reading from TRIM_HORIZON:
// the fallback for a service that does not answer AT_TIMESTAMP (kinesalite, when no record
// qualifies).
func (r *Reader) firstArrivedBy(ctx context.Context, shardID string, t time.Time) (Record, bool, error) {
	var got Record
	found := false
	res, err := r.Scan(ctx, shardID, TrimHorizon(), 0, func(rec Record) bool {
		if !rec.Arrival.Before(t) {
			got, found = rec, true
			return false
		}
		return true
	})
	if err != nil || found || res.Complete {
		return got, found, err
	}
	return Record{}, false, fmt.Errorf("first record of %s at or after %s: %w (%d records read)", shardID, t.Format(time.RFC3339), ErrLimit, res.Read)
}

// windows are how far before a record Before looks for its predecessor, widening each time.
var windows = []time.Duration{10 * time.Second, time.Minute, 10 * time.Minute, time.Hour, 6 * time.Hour, 24 * time.Hour, 7 * 24 * time.Hour}

// Before returns the record right before rec in shardID (found is false when rec is the oldest
// record still in the shard). It reads forwards from ever earlier times until it passes rec, so
// its work is proportional to the records that arrived shortly before rec.
func (r *Reader) Before(ctx context.Context, shardID string, rec Record) (Record, bool, error) {
	positions := make([]Position, 0, len(windows)+1)
	for _, w := range windows {
		positions = append(positions, AtTime(rec.Arrival.Add(-w)))
	}
	positions = append(positions, TrimHorizon())
	for _, pos := range positions {
		var prev Record
		seen, passed := false, false
		res, err := r.Scan(ctx, shardID, pos, 0, func(x Record) bool {
			if !SequenceLess(x.Sequence, rec.Sequence) {
				passed = true
				return false
			}
			prev, seen = x, true
			return true
		})
		if err != nil {
			return Record{}, false, fmt.Errorf("record before %s in %s: %w", rec.Sequence, shardID, err)
		}
		switch {
		case passed && seen:
			return prev, true, nil
		case passed && pos.Type == types.ShardIteratorTypeTrimHorizon:
			return Record{}, false, nil // rec is the oldest record
		case !passed && !res.Complete:
			return Record{}, false, fmt.Errorf("record before %s in %s: %w (%d records read)", rec.Sequence, shardID, ErrLimit, res.Read)
		case !passed:
			return Record{}, false, fmt.Errorf("record before %s in %s: the record is not in the shard", rec.Sequence, shardID)
		}
		// The window began at rec itself: look further back.
	}
	return Record{}, false, nil
}

// SequenceLess orders two Kinesis sequence numbers (decimal strings without leading zeros).
func SequenceLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}
