package grayscale

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/shardline/shardline/internal/envelope"
	"github.com/shardline/shardline/processor"
)

// maxKeyLen is S3's limit on an object key in bytes.
const maxKeyLen = envelope.MaxKeyLen

// Handler is the grayscale handler. It is safe for concurrent use; it holds no per-event state.
type Handler struct {
	cfg         Config
	budget      *memoryBudget // shared by all in-flight puts
	m           *metrics
	conditional atomic.Bool // send If-Match / If-None-Match (off once the store said 501)

	onDecoder func(name string) // test hook: conversion.onDecoder
}

// New returns a Handler for cfg, or cfg.Validate's error.
func New(cfg Config) (*Handler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	h := &Handler{cfg: cfg, budget: newMemoryBudget(cfg.MemoryBudget), m: newMetrics(cfg.Registerer)}
	h.conditional.Store(!cfg.UnconditionalWrites)
	return h, nil
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

// Handle converges the output of ev's object, OutputKey(ev.Key) in OutputBucket, to the input's
// current state, whatever ev's op: an input that exists gets a grayscale copy of its current
// content (one already derived from that content, by its source-etag, is left alone); an input
// that does not exist gets no output. So a delete event for an object that is present again (a
// version delete or a delete-marker removal in a versioned bucket, a repair event of reconcile)
// converts it instead of deleting its output. Handle is idempotent.
//
// Every output write is fenced by the output's state read before the input: PutObject with
// If-Match on the ETag read (If-None-Match: * when there was none) and DeleteObject with If-Match,
// so that a slower writer that read older input content loses instead of overwriting a newer
// output. Stores that refuse conditional requests get unconditional ones (logged once), and
// stores that ignore them (MinIO ignores If-Match on DeleteObject) rely on the processor's
// verify-and-repair, as before.
//
// A returned error is either permanent (errors.Is(err, processor.ErrPermanent), with one of the
// Reason* labels) or transient: the caller retries it. A permanent failure of the input's
// current content leaves no output. Cancelling ctx aborts the work promptly with ctx's error,
// which is transient.
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
	if ev.Op != envelope.OpPut && ev.Op != envelope.OpDelete {
		return processor.Permanent(ReasonInvalidEvent, fmt.Errorf("event %s has op %q", ev.ID, ev.Op))
	}
	for race := 1; ; race++ {
		err := h.converge(ctx, ev, outKey)
		if !errors.Is(err, errOutputChanged) {
			return err
		}
		h.m.races.Inc()
		if race == maxOutputRaces {
			return fmt.Errorf("s3://%s/%s: %w %d times in a row", h.cfg.OutputBucket, outKey, err, race)
		}
	}
}

// maxOutputRaces bounds the converge rounds of one Handle call that lose a conditional write to
// another writer; the error after that is transient, and the processor retries with backoff.
const maxOutputRaces = 3

// errOutputChanged means a conditional write was refused: the output changed after we read its
// state, so another writer (one that read the input later) got there first. Read everything again.
var errOutputChanged = errors.New("output changed while converting (conditional write refused)")

// converge is one round of Handle: read the output's state, then the input, then write or delete
// the output conditionally on the state read first.
func (h *Handler) converge(ctx context.Context, ev envelope.Event, outKey string) error {
	out, err := h.outputState(ctx, outKey)
	if err != nil {
		return err
	}
	// No VersionId: the output must derive from the input's current content. The ledger, not
	// this read, decides which event is the latest.
	obj, err := h.cfg.Store.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(ev.Bucket), Key: aws.String(ev.Key)})
	if err != nil {
		if classify(err) == classNotFound {
			return h.removeOutput(ctx, outKey, out)
		}
		return s3Error("get", ev.Bucket, ev.Key, err)
	}
	etag := trimETag(aws.ToString(obj.ETag))
	if out.exists && etag != "" && out.sourceETag == etag && out.rendition == h.rendition() {
		if obj.Body != nil {
			obj.Body.Close()
		}
		h.m.inSync.Inc()
		return nil // already derived from the input's current content
	}
	data, contentType, res, err := h.convert(ctx, ev, obj)
	if err == nil {
		// The output and the input body stay in memory until the write is done.
		defer res.release()
	}
	if err != nil {
		if errors.Is(err, processor.ErrPermanent) {
			// The current content cannot be converted: no output may stay derived from older
			// content. If removing it fails, say so; the record is retried.
			if rmErr := h.removeOutput(ctx, outKey, out); rmErr != nil {
				return fmt.Errorf("%w (and removing the output failed: %v)", err, rmErr)
			}
		}
		return err
	}
	meta := map[string]string{
		MetaSourceSequencer: ev.Sequencer,
		MetaSourceKey:       SourceKeyValue(ev.Bucket, ev.Key),
		MetaRendition:       h.rendition(),
	}
	if etag != "" {
		meta[MetaSourceETag] = etag
	}
	if v := aws.ToString(obj.VersionId); v != "" {
		meta[MetaSourceVersionID] = v
	}
	in := &s3.PutObjectInput{
		Bucket:        aws.String(h.cfg.OutputBucket),
		Key:           aws.String(outKey),
		Body:          bytes.NewReader(data),
		ContentLength: aws.Int64(int64(len(data))),
		ContentType:   aws.String(contentType),
		Metadata:      meta,
	}
	if h.conditional.Load() {
		if out.exists {
			in.IfMatch = aws.String(out.etag)
		} else {
			in.IfNoneMatch = aws.String("*")
		}
	}
	_, err = h.cfg.Store.PutObject(ctx, in)
	switch {
	case err == nil:
		return nil
	case refusedCondition(err):
		return errOutputChanged
	case in.IfMatch != nil && classify(err) == classNotFound:
		return errOutputChanged // If-Match on an output deleted meanwhile
	case h.conditionalUnsupported(err):
		in.IfMatch, in.IfNoneMatch = nil, nil
		in.Body = bytes.NewReader(data)
		if _, err = h.cfg.Store.PutObject(ctx, in); err == nil {
			return nil
		}
	}
	return s3Error("put", h.cfg.OutputBucket, outKey, err)
}

// sniffBytes is how much of a body is read before its memory is reserved: enough for the
// header of every supported format, EXIF and all, in all but unusual files.
const sniffBytes = 64 << 10

// worstPerPixel bounds conversionCost's bytes per pixel on every path; it costs an image whose
// header is not within the first sniffBytes of its body.
const worstPerPixel = 40

// convert reads the input's body and returns its grayscale copy, with the reservation of the
// memory budget that covers the body and the conversion; the caller releases it once the output
// is written. The body's first sniffBytes are read before the reservation, the rest after it.
func (h *Handler) convert(ctx context.Context, ev envelope.Event, obj *s3.GetObjectOutput) ([]byte, string, *reservation, error) {
	src := fmt.Sprintf("s3://%s/%s", ev.Bucket, ev.Key)
	if obj.Body == nil {
		return nil, "", nil, processor.Permanent(ReasonEmptyObject, fmt.Errorf("%s: no body", src))
	}
	defer obj.Body.Close()
	limit := h.cfg.MaxBytes
	size := aws.ToInt64(obj.ContentLength)
	if size > limit {
		return nil, "", nil, processor.Permanent(ReasonTooLarge, fmt.Errorf("%s: %d bytes, more than the limit of %d", src, size, limit))
	}
	bodyCap := limit // what the body may grow to
	if size > 0 {
		bodyCap = size
	}
	body := ctxReader{ctx: ctx, r: obj.Body}
	prefix := make([]byte, min(bodyCap, sniffBytes))
	n, err := io.ReadFull(body, prefix)
	complete := errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) // the body is shorter
	if err != nil && !complete {
		return nil, "", nil, readError(ctx, src, err)
	}
	prefix = prefix[:n]
	if n == 0 {
		return nil, "", nil, processor.Permanent(ReasonEmptyObject, fmt.Errorf("%s: zero bytes", src))
	}

	cost, err := h.admissionCost(prefix, bodyCap, complete || int64(n) == size)
	if err != nil {
		return nil, "", nil, fmt.Errorf("%s: %w", src, err)
	}
	res, err := h.budget.reserve(ctx, cost, src)
	if err != nil {
		return nil, "", nil, fmt.Errorf("%s: %w", src, err)
	}
	out, contentType, err := h.convertBody(ctx, src, body, prefix, complete, bodyCap, res)
	if err != nil {
		res.release()
		return nil, "", nil, err
	}
	return out, contentType, res, nil
}

// admissionCost returns the bytes a put reserves before reading the rest of a body of at most
// bodyCap bytes whose first bytes are prefix (all of it if complete): the body and the
// conversion, costed from the header in the prefix. If the prefix holds no complete header,
// that is the worst case (at most the whole budget); if it is the whole body, the header's
// error is returned (permanent).
func (h *Handler) admissionCost(prefix []byte, bodyCap int64, complete bool) (int64, error) {
	info, err := checkImage(prefix, h.cfg.MaxPixels)
	if err != nil {
		if complete {
			return 0, err
		}
		return min(h.budget.size, bodyCap+bytes.MinRead+costFixed+worstPerPixel*h.cfg.MaxPixels), nil
	}
	hdr, err := readHeader(prefix, info)
	if err != nil {
		return 0, err
	}
	c, _ := conversionCost(hdr, int(bodyCap))
	return bodyCap + bytes.MinRead + c, nil
}

// convertBody reads the rest of a body whose first bytes are prefix (all of it if complete),
// enforcing MaxBytes, and converts it, growing res if the image costs more than res holds.
func (h *Handler) convertBody(ctx context.Context, src string, body io.Reader, prefix []byte, complete bool, bodyCap int64, res *reservation) ([]byte, string, error) {
	limit := h.cfg.MaxBytes
	data := prefix
	if !complete {
		buf := bytes.NewBuffer(make([]byte, 0, bodyCap+bytes.MinRead)) // room for the read that sees EOF
		buf.Write(prefix)
		if _, err := buf.ReadFrom(io.LimitReader(body, limit+1-int64(len(prefix)))); err != nil {
			return nil, "", readError(ctx, src, err)
		}
		data = buf.Bytes()
	}
	if int64(len(data)) > limit {
		return nil, "", processor.Permanent(ReasonTooLarge, fmt.Errorf("%s: more than the limit of %d bytes", src, limit))
	}
	info, err := checkImage(data, h.cfg.MaxPixels)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", src, err)
	}
	hdr, err := readHeader(data, info)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", src, err)
	}
	held := int64(cap(data)) // the body as allocated
	c, _ := conversionCost(hdr, len(data))
	if err := res.growTo(ctx, held+c, src); err != nil {
		return nil, "", fmt.Errorf("%s: %w", src, err)
	}
	conv := conversion{maxPixels: h.cfg.MaxPixels, quality: h.cfg.JPEGQuality, onDecoder: h.onDecoder,
		beforeFallback: func(ctx context.Context) error {
			return res.growTo(ctx, held+jpegFallbackCost(hdr), src+" (image/jpeg fallback)")
		}}
	out, contentType, err := convertData(ctx, data, hdr, conv)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", src, err)
	}
	return out, contentType, nil
}

// readError wraps an error reading src's body: ctx's error if ctx ended, else the read error;
// both are transient.
func readError(ctx context.Context, src string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("reading %s: %w", src, ctxErr)
	}
	return fmt.Errorf("reading %s: %w", src, err)
}

// outputState is what HeadObject found at the output key.
type outputState struct {
	exists     bool
	etag       string // quoted, as S3 returns it and If-Match takes it
	sourceETag string // the source-etag metadata
	rendition  string // the rendition metadata
}

// rendition is the MetaRendition value of the outputs this Handler writes.
func (h *Handler) rendition() string {
	return fmt.Sprintf("%s q%d", renditionVersion, h.cfg.JPEGQuality)
}

// outputState reads the output's state with one HEAD request.
func (h *Handler) outputState(ctx context.Context, outKey string) (outputState, error) {
	head, err := h.cfg.Store.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(h.cfg.OutputBucket), Key: aws.String(outKey)})
	switch {
	case err == nil:
		return outputState{exists: true, etag: aws.ToString(head.ETag), sourceETag: head.Metadata[MetaSourceETag],
			rendition: head.Metadata[MetaRendition]}, nil
	case classify(err) == classNotFound:
		return outputState{}, nil
	}
	return outputState{}, s3Error("head", h.cfg.OutputBucket, outKey, err)
}

// removeOutput deletes the output read as out, only if it is still that object (If-Match); an
// output that did not exist, or no longer does, counts as deleted.
func (h *Handler) removeOutput(ctx context.Context, outKey string, out outputState) error {
	if !out.exists {
		return nil
	}
	in := &s3.DeleteObjectInput{Bucket: aws.String(h.cfg.OutputBucket), Key: aws.String(outKey)}
	if h.conditional.Load() && out.etag != "" {
		in.IfMatch = aws.String(out.etag)
	}
	_, err := h.cfg.Store.DeleteObject(ctx, in)
	switch {
	case err == nil, classify(err) == classNotFound:
		return nil
	case refusedCondition(err):
		return errOutputChanged
	case h.conditionalUnsupported(err):
		in.IfMatch = nil
		if _, err = h.cfg.Store.DeleteObject(ctx, in); err == nil || classify(err) == classNotFound {
			return nil
		}
	}
	return s3Error("delete", h.cfg.OutputBucket, outKey, err)
}

// refusedCondition reports whether err is S3's answer to a conditional request whose condition
// did not hold: 412 PreconditionFailed, or 409 ConditionalRequestConflict (a concurrent write to
// the same key won).
func refusedCondition(err error) bool {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "PreconditionFailed", "ConditionalRequestConflict":
			return true
		}
	}
	var respErr *smithyhttp.ResponseError
	return errors.As(err, &respErr) && respErr.HTTPStatusCode() == http.StatusPreconditionFailed
}

// conditionalUnsupported reports whether err says the store does not implement conditional
// requests (501 NotImplemented); it then turns them off for this Handler and logs it once.
func (h *Handler) conditionalUnsupported(err error) bool {
	var apiErr smithy.APIError
	var respErr *smithyhttp.ResponseError
	if !(errors.As(err, &apiErr) && apiErr.ErrorCode() == "NotImplemented") &&
		!(errors.As(err, &respErr) && respErr.HTTPStatusCode() == http.StatusNotImplemented) {
		return false
	}
	if h.conditional.CompareAndSwap(true, false) {
		h.cfg.Logger.Warn("the output store does not implement conditional writes: writing unconditionally; late writes are fenced by verify-and-repair only",
			slog.String("error", err.Error()))
	}
	return true
}
