// Package quiesce tells when the workers have finished everything in a stream (the demo and
// the chaos harness wait for it before checking outputs).
package quiesce

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	chk "github.com/vmware/vmware-go-kcl-v2/clientlibrary/checkpoint"

	"github.com/shardline/shardline/checkpoint"
	"github.com/shardline/shardline/internal/shardmap"
)

// NewTracker returns a Tracker for stream.
func NewTracker(kc *kinesis.Client, stream string) *Tracker {
	return &Tracker{kc: kc, stream: stream, last: map[string]string{}}
}

// Tracker knows the last sequence number of every shard of a stream, reading only what is new
// each time it is asked.
type Tracker struct {
	kc     *kinesis.Client
	stream string
	last   map[string]string
}

func (e *Tracker) lastOf(ctx context.Context, shard string) (string, error) {
	in := &kinesis.GetShardIteratorInput{StreamName: aws.String(e.stream), ShardId: aws.String(shard), ShardIteratorType: ktypes.ShardIteratorTypeTrimHorizon}
	if last := e.last[shard]; last != "" {
		in.ShardIteratorType, in.StartingSequenceNumber = ktypes.ShardIteratorTypeAfterSequenceNumber, aws.String(last)
	}
	it, err := e.kc.GetShardIterator(ctx, in)
	if err != nil {
		return "", err
	}
	iter := it.ShardIterator
	for iter != nil {
		out, err := e.kc.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter, Limit: aws.Int32(10000)})
		if err != nil {
			return "", err
		}
		if len(out.Records) == 0 {
			break
		}
		e.last[shard] = aws.ToString(out.Records[len(out.Records)-1].SequenceNumber)
		iter = out.NextShardIterator
	}
	return e.last[shard], nil
}

// CaughtUp reports whether every closed shard reached SHARD_END and every open shard's
// checkpoint is its last record, i.e. the workers have finished everything in the stream; when
// not, it says which shard is behind. Counting finished records instead is not enough: a
// record replayed after a lease moved is counted twice.
func (end *Tracker) CaughtUp(ctx context.Context, leases *checkpoint.Checkpointer) (bool, string, error) {
	rows, err := leases.Scan(ctx)
	if err != nil {
		return false, "", err
	}
	byShard := map[string]checkpoint.Lease{}
	for _, l := range rows {
		byShard[l.ShardID] = l
	}
	shards, err := shardmap.List(ctx, end.kc, end.stream)
	if err != nil {
		return false, "", err
	}
	for _, s := range shards {
		id := aws.ToString(s.ShardId)
		cp := byShard[id].Checkpoint
		if s.SequenceNumberRange.EndingSequenceNumber != nil {
			if cp != chk.ShardEnd {
				return false, fmt.Sprintf("closed shard %s at %q, not SHARD_END", id, cp), nil
			}
			continue
		}
		last, err := end.lastOf(ctx, id)
		if err != nil {
			return false, "", err
		}
		if last != "" && cp != last {
			return false, fmt.Sprintf("shard %s checkpoint %q, last record %s", id, cp, last), nil
		}
	}
	return true, "", nil
}
