package grayscale

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/shardline/shardline/internal/envelope"
	"github.com/shardline/shardline/processor"
)

// maxKeyLen is S3's limit on an object key in bytes.
const maxKeyLen = envelope.MaxKeyLen

// Handler is the grayscale handler. It is safe for concurrent use; it holds no per-event state.
type Handler struct {
	cfg    Config
	budget *pixelBudget // shared by all in-flight puts
}

// New returns a Handler for cfg, or cfg.Validate's error.
func New(cfg Config) (*Handler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	return &Handler{cfg: cfg, budget: newPixelBudget(cfg.PixelBudget)}, nil
}

// OutputKey maps an input key to its output key: OutputPrefix + inputKey, byte for byte.
//
// The output always lies under OutputPrefix and distinct inputs never share an output, whatever
// the key contains. S3 keys are opaque byte strings, not paths: S3 stores a key exactly as sent
// and gives "..", "." and "/" no meaning, so "../x" becomes the key prefix + "../x", which starts
// with prefix (S3-compatible servers that dislike such keys reject them, which is also safe).
// Cleaning or resolving keys here (path.Clean, path.Join) would be the bug: it could map "a/../b"
// and "b" to one output, or move an output outside the prefix.
func (h *Handler) OutputKey(inputKey string) string {
	return h.cfg.OutputPrefix + inputKey
}

// Handle applies one event. For a put it makes OutputKey(ev.Key) in OutputBucket a grayscale
// copy of the input's current content (or deletes the output if the input no longer exists);
// for a delete it deletes that output (a missing output is success). Handle is idempotent.
//
// A returned error is either permanent (errors.Is(err, processor.ErrPermanent), with one of the
// Reason* labels) or transient: the caller retries it. Cancelling ctx aborts the work promptly
// with ctx's error, which is transient.
func (h *Handler) Handle(ctx context.Context, ev envelope.Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if ev.Bucket == "" || ev.Key == "" {
		return processor.Permanent(ReasonInvalidEvent, fmt.Errorf("event %s has an empty bucket or key", ev.ID))
	}
	if ev.Bucket == h.cfg.OutputBucket && strings.HasPrefix(ev.Key, h.cfg.OutputPrefix) {
		return processor.Permanent(ReasonOutputLoop, fmt.Errorf("s3://%s/%s is under the output location s3://%s/%s",
			ev.Bucket, ev.Key, h.cfg.OutputBucket, h.cfg.OutputPrefix))
	}
	outKey := h.OutputKey(ev.Key)
	if len(outKey) > maxKeyLen {
		return processor.Permanent(ReasonOutputKeyTooLong, fmt.Errorf("output key for s3://%s/%s is %d bytes, more than %d",
			ev.Bucket, ev.Key, len(outKey), maxKeyLen))
	}
	switch ev.Op {
	case envelope.OpPut:
		return h.put(ctx, ev, outKey)
	case envelope.OpDelete:
		return h.deleteOutput(ctx, outKey)
	}
	return processor.Permanent(ReasonInvalidEvent, fmt.Errorf("event %s has op %q", ev.ID, ev.Op))
}

// put converts the input's current content and writes the output.
func (h *Handler) put(ctx context.Context, ev envelope.Event, outKey string) error {
	// No VersionId: the output must derive from the input's current content. The ledger, not
	// this read, decides which event is the latest.
	obj, err := h.cfg.Store.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(ev.Bucket), Key: aws.String(ev.Key)})
	if err != nil {
		if classify(err) == classNotFound {
			// The input is gone, so its output must go too; its delete event follows and will
			// find nothing left to do.
			return h.deleteOutput(ctx, outKey)
		}
		return s3Error("get", ev.Bucket, ev.Key, err)
	}
	data, err := h.readBody(ctx, ev, obj)
	if err != nil {
		return err
	}

	src := fmt.Sprintf("s3://%s/%s", ev.Bucket, ev.Key)
	info, err := checkImage(data, h.cfg.MaxPixels)
	if err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	// The decoded image and its grayscale copy exist only between acquire and release, so
	// PixelBudget bounds them across all concurrent puts.
	release, err := h.budget.acquire(ctx, int64(info.Width)*int64(info.Height))
	if err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	out, contentType, err := convertData(ctx, data, info, h.cfg.MaxPixels, h.cfg.JPEGQuality)
	release()
	if err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}

	meta := map[string]string{
		MetaSourceSequencer: ev.Sequencer,
		MetaSourceKey:       SourceKeyValue(ev.Bucket, ev.Key),
	}
	if etag := trimETag(aws.ToString(obj.ETag)); etag != "" {
		meta[MetaSourceETag] = etag
	}
	if v := aws.ToString(obj.VersionId); v != "" {
		meta[MetaSourceVersionID] = v
	}
	_, err = h.cfg.Store.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(h.cfg.OutputBucket),
		Key:           aws.String(outKey),
		Body:          bytes.NewReader(out),
		ContentLength: aws.Int64(int64(len(out))),
		ContentType:   aws.String(contentType),
		Metadata:      meta,
	})
	if err != nil {
		return s3Error("put", h.cfg.OutputBucket, outKey, err)
	}
	return nil
}

// readBody reads and closes obj's body, enforcing MaxBytes before and while reading.
func (h *Handler) readBody(ctx context.Context, ev envelope.Event, obj *s3.GetObjectOutput) ([]byte, error) {
	src := fmt.Sprintf("s3://%s/%s", ev.Bucket, ev.Key)
	if obj.Body == nil {
		return nil, processor.Permanent(ReasonEmptyObject, fmt.Errorf("%s: no body", src))
	}
	defer obj.Body.Close()

	limit := h.cfg.MaxBytes
	size := aws.ToInt64(obj.ContentLength)
	if size > limit {
		return nil, processor.Permanent(ReasonTooLarge, fmt.Errorf("%s: %d bytes, more than the limit of %d", src, size, limit))
	}
	var buf bytes.Buffer
	if size > 0 {
		buf.Grow(int(size) + bytes.MinRead) // room for the final read that sees EOF
	}
	n, err := buf.ReadFrom(io.LimitReader(ctxReader{ctx: ctx, r: obj.Body}, limit+1))
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("reading %s: %w", src, ctxErr)
		}
		return nil, fmt.Errorf("reading %s: %w", src, err)
	}
	switch {
	case n > limit:
		return nil, processor.Permanent(ReasonTooLarge, fmt.Errorf("%s: more than the limit of %d bytes", src, limit))
	case n == 0:
		return nil, processor.Permanent(ReasonEmptyObject, fmt.Errorf("%s: zero bytes", src))
	}
	return buf.Bytes(), nil
}

// deleteOutput deletes an output object; one that does not exist counts as deleted.
func (h *Handler) deleteOutput(ctx context.Context, outKey string) error {
	_, err := h.cfg.Store.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(h.cfg.OutputBucket), Key: aws.String(outKey)})
	if err != nil && classify(err) != classNotFound {
		return s3Error("delete", h.cfg.OutputBucket, outKey, err)
	}
	return nil
}
