package chaos

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/shardline/shardline/internal/grayscale"
	"github.com/shardline/shardline/internal/lab/objects"
	"github.com/shardline/shardline/internal/ledger"
)

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
