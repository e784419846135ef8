package grayscale

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/shardline/shardline/internal/envelope"
	"github.com/shardline/shardline/processor"
)

// maxKeyLen is S3's limit on an object key in bytes.
const maxKeyLen = envelope.MaxKeyLen

// Converter is the grayscale handler: a processor.Handler (and processor.Verifier) that keeps
// a grayscale copy of each input object in the output bucket, and no copy of an input that is
// gone. It is safe for concurrent use; it holds no per-event state.
type Converter struct {
	cfg         Config
	budget      *memoryBudget // shared by all in-flight puts
	m           *metrics
	conditional atomic.Bool // send If-Match / If-None-Match (off once the store said 501)

	onDecoder func(name string) // test hook: conversion.onDecoder
}

// New returns a Converter for cfg, or an error: cfg.Validate's, or a failure to register its
// metrics on cfg.Registerer (another collector of the same name). Converters sharing a registry
// count into the same series.
func New(cfg Config) (*Converter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	h := &Converter{cfg: cfg, budget: newMemoryBudget(cfg.MemoryBudget)}
	var err error
	if h.m, err = newMetrics(cfg.Registerer); err != nil {
		return nil, fmt.Errorf("grayscale metrics: %w", err)
	}
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
func (h *Converter) OutputKey(inputKey string) string {
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
func (h *Converter) Handle(ctx context.Context, ev processor.Event) error {
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
func (h *Converter) converge(ctx context.Context, ev processor.Event, outKey string) error {
	out, err := h.outputState(ctx, outKey)
	if err != nil {
		return err
	}
	// No VersionId: the output must derive from the input's current content. The ledger, not
	// this read, decides which event is the latest.
	obj, err := h.cfg.Store.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(ev.Bucket), Key: aws.String(ev.Key)})
	if err != nil {
		if classifyS3(err) == classNotFound {
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
	return h.putOutput(ctx, outKey, out, data, contentType, h.outputMetadata(ev, etag, aws.ToString(obj.VersionId)))
}
