package chaos

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	chk "github.com/vmware/vmware-go-kcl-v2/clientlibrary/checkpoint"

	"github.com/shardline/shardline/checkpoint"
	"github.com/shardline/shardline/internal/grayscale"
	"github.com/shardline/shardline/internal/ledger"
	"github.com/shardline/shardline/internal/objects"
)

// streamEnd tracks the last sequence number of every shard, reading only what is new each time.
type streamEnd struct {
	kc     *kinesis.Client
	stream string
	last   map[string]string
}

func (e *streamEnd) lastOf(ctx context.Context, shard string) (string, error) {
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

// caughtUp reports whether every closed shard reached SHARD_END and every open shard's
// checkpoint is its last record; when not, it says which shard is behind.
func caughtUp(ctx context.Context, end *streamEnd, leases *checkpoint.Checkpointer) (bool, string, error) {
	rows, err := leases.Scan(ctx)
	if err != nil {
		return false, "", err
	}
	byShard := map[string]checkpoint.Lease{}
	for _, l := range rows {
		byShard[l.ShardID] = l
	}
	in := &kinesis.ListShardsInput{StreamName: aws.String(end.stream)}
	for {
		out, err := end.kc.ListShards(ctx, in)
		if err != nil {
			return false, "", err
		}
		for _, s := range out.Shards {
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
		if out.NextToken == nil {
			return true, "", nil
		}
		in = &kinesis.ListShardsInput{NextToken: out.NextToken}
	}
}

// violation is a key whose final output breaks the guarantee.
type violation struct {
	Key     string
	Problem string
	Input   string // input ETag, "" if absent
	Output  string // output's source-etag, "" if absent
	OutSeq  string // output's source-sequencer
	Ledger  string
	History []op
}

// checkGuarantee compares every key's input and output: the output exists iff the input exists,
// and its source-etag is the input's ETag.
func checkGuarantee(ctx context.Context, c *s3.Client, in, out string, led *ledger.Ledger, l *load) ([]violation, int, error) {
	inputs, err := objects.ETags(ctx, c, in)
	if err != nil {
		return nil, 0, err
	}
	outputs, err := objects.ETags(ctx, c, out)
	if err != nil {
		return nil, 0, err
	}
	keys := map[string]bool{}
	for _, k := range l.keys { // keys absent on both sides count as checked too
		keys[k] = true
	}
	for k := range inputs {
		keys[k] = true
	}
	for k := range outputs {
		keys[k] = true
	}
	var vs []violation
	for k := range keys {
		etag, hasIn := inputs[k]
		_, hasOut := outputs[k]
		v := violation{Key: k, Input: etag}
		if hasOut {
			head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(out), Key: aws.String(k)})
			var nf *s3types.NotFound
			switch {
			case errors.As(err, &nf):
				hasOut = false
			case err != nil:
				return nil, 0, err
			default:
				v.Output, v.OutSeq = head.Metadata[grayscale.MetaSourceETag], head.Metadata[grayscale.MetaSourceSequencer]
			}
		}
		switch {
		case hasIn && !hasOut:
			v.Problem = "input exists, output missing"
		case !hasIn && hasOut:
			v.Problem = "output exists, input deleted"
		case hasIn && v.Output != etag:
			v.Problem = "output derived from other content than the input's current"
		default:
			continue
		}
		if e, found, err := led.Get(ctx, in+"/"+k); err == nil && found {
			v.Ledger = fmt.Sprintf("epoch %d seq %s op %s outcome %s by %s", e.Epoch, e.Sequencer, e.Op, e.Outcome, e.Worker)
		}
		v.History = l.historyOf(k)
		vs = append(vs, v)
	}
	sort.Slice(vs, func(i, j int) bool { return vs[i].Key < vs[j].Key })
	return vs, len(keys), nil
}
