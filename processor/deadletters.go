package processor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/shardline/shardline/internal/bucket"
	"github.com/shardline/shardline/internal/deadletter"
	"github.com/shardline/shardline/internal/envelope"
	"github.com/shardline/shardline/internal/ledger"
)

// Dead-letter reasons set by the processor itself (handlers supply their own).
const (
	ReasonBadEnvelope      = "bad_envelope"
	ReasonUnknownVersion   = "unknown_schema_version"
	ReasonRetriesExhausted = "retries_exhausted"
	ReasonPermanent        = "permanent" // a handler's permanent error without a reason label
	// ReasonForeignBucket: the event names a valid bucket that is not on the input allow-list
	// (Config.InputBuckets); the bucket was not read.
	ReasonForeignBucket = "foreign_bucket"
	// ReasonInvalidBucket: the event names something that is not a valid S3 bucket name (an ARN,
	// an access-point alias…); nothing was read.
	ReasonInvalidBucket = "invalid_bucket"
	// ReasonTimeout: handler calls of the record ran past their deadline Config.MaxTimeouts
	// times (or the last attempt allowed by Config.Retry timed out).
	ReasonTimeout = "timeout"
)

// refuseBucket returns the dead-letter reason and error of an event whose bucket the worker must
// not read, or "" when the bucket is allowed.
func (p *shardProcessor) refuseBucket(ev envelope.Event) (reason string, err error) {
	if err := bucket.Valid(ev.Bucket); err != nil {
		return ReasonInvalidBucket, Permanent(ReasonInvalidBucket, err)
	}
	if p.cfg.InputBuckets != nil && !p.cfg.InputBuckets.Allows(ev.Bucket) {
		return ReasonForeignBucket, Permanent(ReasonForeignBucket, fmt.Errorf("bucket %q is not on the input allow-list", ev.Bucket))
	}
	return "", nil
}

// checksOutputAfter reports whether a dead letter of reason is followed by a check of the output.
// A refused bucket is never read (not even to check); a timeout would only time out again.
func checksOutputAfter(reason string) bool {
	switch reason {
	case ReasonForeignBucket, ReasonInvalidBucket, ReasonTimeout:
		return false
	}
	return true
}

// decodeFailure dead-letters a record that is not a valid envelope and reports whether the
// letter was stored.
func (p *shardProcessor) decodeFailure(rec *types.Record, err error) bool {
	reason := ReasonBadEnvelope
	var ve *envelope.VersionError
	if errors.As(err, &ve) {
		reason = ReasonUnknownVersion
	}
	return p.deadLetter(rec, nil, reason, err, 1)
}

// deadLetter stores a record that cannot be applied, then records it in the ledger (so that
// older events of the object stay stale) and removes any output derived from older content. It
// reports false only if it had to give up (shutdown, lease lost) before the letter was stored.
func (p *shardProcessor) deadLetter(rec *types.Record, ev *envelope.Event, reason string, cause error, attempts int) bool {
	letter := deadletter.Letter{
		Shard:          p.shard,
		SequenceNumber: aws.ToString(rec.SequenceNumber),
		PartitionKey:   aws.ToString(rec.PartitionKey),
		Data:           rec.Data,
		Reason:         reason,
		Error:          cause.Error(),
		Attempts:       attempts,
	}
	if ev != nil {
		letter.Object, letter.EventID = ev.ObjectID(), ev.ID
	}
	err := p.retryForever(func(ctx context.Context) error {
		if !p.owns() {
			return errAbandoned
		}
		return p.cfg.DeadLetters.Put(ctx, letter)
	})
	if err != nil {
		return false
	}
	if ev != nil {
		// Record the outcome in the ledger so that older events stay stale. The letter comes
		// first: a redrive finds the ledger recording a dead-lettered event only once its letter
		// exists, and before that commit ledger.Reopen answers Pending, so the two cannot race.
		// Without the commit the record is not finished: the next owner processes it again.
		err := p.retryForever(func(ctx context.Context) error {
			if !p.owns() {
				return errAbandoned
			}
			err := p.commit(ctx, *ev, ledger.OutcomeDeadLettered)
			if errors.Is(err, ledger.ErrConflict) {
				p.m.conflicts.Inc() // a newer event, or our own commit whose response was lost
				return nil
			}
			return err
		})
		if err != nil {
			return false
		}
	}
	p.m.records.WithLabelValues(OutcomeDeadLettered).Inc()
	p.m.deadLetters.WithLabelValues(reason).Inc()
	attrs := []any{slog.String("reason", reason), slog.String("sequence_number", letter.SequenceNumber), slog.String("error", letter.Error)}
	if ev != nil {
		attrs = append(attrs, slog.String("bucket", ev.Bucket), slog.String("key", ev.Key), slog.String("sequencer", ev.Sequencer))
	}
	p.log.Warn("record dead-lettered", attrs...)
	if ev != nil && checksOutputAfter(reason) {
		// The handler leaves no output for content it cannot convert, but a record that ran
		// out of retries may have left anything: check, bounded (the record is accounted for).
		_ = p.retry(func(ctx context.Context) error { return p.check(ctx, *ev, checkDeadLet) })
	}
	return true
}
