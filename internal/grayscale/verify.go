package grayscale

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/shardline/shardline/internal/envelope"
	"github.com/shardline/shardline/processor"
)

// objectHeader is the HeadObject call Verify needs; *s3.Client has it.
type objectHeader interface {
	HeadObject(ctx context.Context, in *s3.HeadObjectInput, optFns ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
}

var _ processor.Verifier = (*Handler)(nil)

// errNoHead is returned by Verify when the ObjectStore cannot answer HeadObject.
var errNoHead = errors.New("grayscale: the object store has no HeadObject; cannot verify outputs")

// Verify implements processor.Verifier: it reports whether the output of ev's object is exactly
// what Handle(ev) leaves behind. For a delete: no output. For a put: an output whose
// source-sequencer metadata is ev's sequencer, or, when the input no longer exists, no output.
// It only reads (two HEAD requests at most).
func (h *Handler) Verify(ctx context.Context, ev envelope.Event) (bool, error) {
	head, ok := h.cfg.Store.(objectHeader)
	if !ok {
		return false, errNoHead
	}
	outKey := h.OutputKey(ev.Key)
	out, err := head.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(h.cfg.OutputBucket), Key: aws.String(outKey)})
	outExists := err == nil
	if err != nil && classify(err) != classNotFound {
		return false, s3Error("head", h.cfg.OutputBucket, outKey, err)
	}
	if ev.Op == envelope.OpDelete {
		return !outExists, nil
	}
	if outExists {
		return out.Metadata[MetaSourceSequencer] == ev.Sequencer, nil
	}
	_, err = head.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(ev.Bucket), Key: aws.String(ev.Key)})
	switch {
	case err == nil:
		return false, nil // the input exists but its output does not
	case classify(err) == classNotFound:
		return true, nil // input gone: no output is right
	default:
		return false, fmt.Errorf("verify %s: %w", ev.ObjectID(), s3Error("head", ev.Bucket, ev.Key, err))
	}
}
