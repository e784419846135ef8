package grayscale

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/shardline/shardline/processor"
)

var _ processor.Verifier = (*Converter)(nil)

// Verify implements processor.Verifier: it reports whether the output of ev's object matches the
// input's current state, whatever ev's op: when the input exists, an output whose source-etag
// metadata is the input's ETag; when it does not, no output. An input whose current content
// cannot be converted has no output, so Verify answers false for it and Handle, asked to repair,
// fails permanently: the processor takes that as the end of the repair. It only reads (two HEAD
// requests).
func (h *Converter) Verify(ctx context.Context, ev processor.Event) (bool, error) {
	outKey := h.OutputKey(ev.Key)
	out, err := h.outputState(ctx, outKey)
	if err != nil {
		return false, fmt.Errorf("verify %s: %w", ev.ObjectID(), err)
	}
	in, err := h.cfg.Store.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(ev.Bucket), Key: aws.String(ev.Key)})
	switch {
	case err == nil:
		return out.exists && out.sourceETag != "" && out.sourceETag == trimETag(aws.ToString(in.ETag)), nil
	case classifyS3(err) == classNotFound:
		return !out.exists, nil
	default:
		return false, fmt.Errorf("verify %s: %w", ev.ObjectID(), s3Error("head", ev.Bucket, ev.Key, err))
	}
}
