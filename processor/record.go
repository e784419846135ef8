package processor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/shardline/shardline/internal/bucket"
	"github.com/shardline/shardline/internal/deadletter"
	"github.com/shardline/shardline/internal/envelope"
	"github.com/shardline/shardline/internal/ledger"
)

// errAbandoned means the record was left unfinished because the worker is shutting down or lost
// the shard; it will be processed again by whoever holds the lease next.
var errAbandoned = errors.New("abandoned: shutting down or lease lost")

// Dead-letter reasons set by the processor itself (handlers supply their own).
const (
	ReasonBadEnvelope      = "bad_envelope"
	ReasonUnknownVersion   = "unknown_schema_version"
	ReasonRetriesExhausted = "retries_exhausted"
	ReasonPermanent        = "permanent" // a handler's permanent error without a reason label
	// ReasonForeignBucket: the event names a valid bucket that is not on the input allow-list
	// (recordConfig.InputBuckets); the bucket was not read.
	ReasonForeignBucket = "foreign_bucket"
	// ReasonInvalidBucket: the event names something that is not a valid S3 bucket name (an ARN,
	// an access-point alias…); nothing was read.
	ReasonInvalidBucket = "invalid_bucket"
	// ReasonTimeout: handler calls of the record ran past their deadline recordConfig.MaxTimeouts
	// times (or the last attempt allowed by recordConfig.Retry timed out).
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

// ledgerRead is an object's ledger entry read ahead for a whole batch.
type ledgerRead struct {
	entry ledger.Entry
	found bool
}

// processEvent finishes one decoded record and reports whether it did (false: abandoned). pre,
// when not nil, is the object's ledger entry read ahead; it is used for the first attempt only.
//
// Whatever the ledger decides, the output is checked against the input's current state (and
// repaired) whenever a write of ours or of someone else may have landed out of order: after our
// commit (a zombie's late write), after a ledger conflict, after a duplicate drop (the committer
// may have died between its commit and its check), after a stale drop that follows a handler call
// of ours (a write that landed although its response was lost), and when the record is abandoned
// after a handler call (we lost the lease while writing).
func (p *shardProcessor) processEvent(rec *types.Record, ev envelope.Event, pre *ledgerRead) bool {
	if reason, err := p.refuseBucket(ev); err != nil {
		return p.deadLetter(rec, &ev, reason, err, 0)
	}
	var err error
	// The event's logger is built only when something is logged: slog's With formats every
	// attribute up front, which cost a quarter of the processor's own CPU per record.
	log := func() *slog.Logger {
		return p.log.With(slog.String("key", ev.Key), slog.String("bucket", ev.Bucket), slog.String("sequencer", ev.Sequencer), slog.String("op", ev.Op))
	}

	var (
		outcome  string
		settle   string // set once the ledger has an outcome for ev: only check the output (why)
		attempts int
		timeouts int
		wrote    bool // a handler call for ev ran (its write may have landed, whatever it returned)
	)
	// step is one attempt: the ledger rule, handler and commit (apply), then the output check its
	// outcome calls for; once an outcome is settled, only the check.
	step := func(ctx context.Context) error {
		if settle != "" {
			return p.check(ctx, ev, settle)
		}
		o, ran, err := p.apply(ctx, ev, pre)
		pre = nil
		wrote = wrote || ran
		switch {
		case errors.Is(err, ledger.ErrConflict):
			// Someone committed a newer or equal event while we ran the handler: our output
			// write may have overwritten theirs.
			p.m.conflicts.Inc()
			log().Warn("ledger conflict after handler: checking the output")
			outcome, settle = OutcomeStale, checkConflict
		case err != nil:
			return err
		case o == OutcomeApplied:
			outcome, settle = o, checkCommit
		case o == OutcomeDuplicate:
			outcome, settle = o, checkDuplicate
		case o == OutcomeStale && wrote:
			outcome, settle = o, checkOwnWrite
		default:
			outcome = o
			return nil
		}
		return p.check(ctx, ev, settle)
	}
	err = p.retry(func(ctx context.Context) error {
		attempts++
		err := step(ctx)
		if errors.Is(err, ErrTimeout) {
			// A handler that runs past its deadline usually does so on every attempt (a CPU
			// bomb): give up after MaxTimeouts instead of MaxAttempts.
			if timeouts++; timeouts >= p.cfg.MaxTimeouts {
				return Permanent(ReasonTimeout, fmt.Errorf("%d handler calls timed out: %w", timeouts, err))
			}
		}
		return err
	})
	switch {
	case err == nil:
		p.m.records.WithLabelValues(outcome).Inc()
		if outcome != OutcomeApplied && p.log.Enabled(p.ctx, slog.LevelDebug) {
			log().Debug("event dropped", slog.String("outcome", outcome))
		}
		return true
	case errors.Is(err, errAbandoned):
		if wrote && p.ctx.Err() == nil {
			// The lease was lost after a handler call: the new owner may already have applied
			// and checked the object. (On shutdown we still hold the lease; the next owner
			// takes it after our release and applies and checks the record itself.)
			p.fence(ev)
		}
		return false
	case errors.Is(err, ErrPermanent):
		reason := ReasonOf(err)
		if reason == "" {
			reason = ReasonPermanent
		}
		return p.deadLetter(rec, &ev, reason, err, attempts)
	case errors.Is(err, ErrTimeout):
		return p.deadLetter(rec, &ev, ReasonTimeout, err, attempts)
	default:
		return p.deadLetter(rec, &ev, ReasonRetriesExhausted, err, attempts)
	}
}

// apply runs the ledger rule, the handler and the ledger commit for one event. ran reports
// whether the handler was called.
func (p *shardProcessor) apply(ctx context.Context, ev envelope.Event, pre *ledgerRead) (outcome string, ran bool, err error) {
	var (
		entry ledger.Entry
		found bool
	)
	if pre != nil {
		entry, found = pre.entry, pre.found
	} else if entry, found, err = p.cfg.Ledger.Get(ctx, ev.ObjectID()); err != nil {
		return "", false, err
	}
	switch ledger.Decide(entry, found, p.epoch, ev) {
	case ledger.Duplicate:
		return OutcomeDuplicate, false, nil
	case ledger.Stale:
		return OutcomeStale, false, nil
	}
	if !p.owns() {
		return "", false, errAbandoned
	}
	if err := p.handle(ctx, ev); err != nil {
		return "", true, err
	}
	if !p.owns() {
		// We lost the shard while the handler ran: do not commit (the next owner re-runs this
		// event); processEvent fences our write.
		return "", true, errAbandoned
	}
	return OutcomeApplied, true, p.commit(ctx, ev, ledger.OutcomeApplied)
}

// Why an output is checked (label of shardline_worker_output_checks_total).
const (
	checkCommit    = "commit"    // after our ledger commit
	checkConflict  = "conflict"  // after a ledger conflict
	checkDuplicate = "duplicate" // after a duplicate drop
	checkOwnWrite  = "own_write" // after a stale drop that followed a handler call of ours
	checkFence     = "fence"     // after a handler call made without the lease
	checkDeadLet   = "dead_letter"
	checkLate      = "late" // after a handler call abandoned at its deadline returned (deadline.go)
)

// fence runs after a handler call of a record this worker abandoned because it lost the lease:
// our write may land after the new owner checked the output, and nothing else would correct it.
// It checks and repairs with retries until FenceTimeout, even if shutdown starts meanwhile (the
// write is ours to clean up); an error at the end is logged: the new owner's own checks, and
// the conditional writes of the handler, are what remains.
func (p *shardProcessor) fence(ev envelope.Event) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(p.ctx), p.cfg.FenceTimeout)
	defer cancel()
	p.m.fences.Inc()
	err := p.retryUntil(ctx, p.cfg.Retry.MaxAttempts, func(ctx context.Context) error { return p.check(ctx, ev, checkFence) })
	if err != nil {
		p.log.Warn("fencing a late write failed", slog.String("key", ev.Key), slog.String("error", err.Error()))
	}
}

func (p *shardProcessor) handle(ctx context.Context, ev envelope.Event) error {
	start := time.Now()
	err := p.callHandler(ctx, ev)
	result := "ok"
	switch {
	case errors.Is(err, ErrPermanent):
		result = "permanent"
	case errors.Is(err, ErrTimeout):
		result = "timeout"
	case err != nil:
		result = "error"
	}
	p.m.handler.WithLabelValues(ev.Op, result).Observe(time.Since(start).Seconds())
	return err
}

func (p *shardProcessor) commit(ctx context.Context, ev envelope.Event, outcome string) error {
	return p.cfg.Ledger.Commit(ctx, ledger.Entry{
		Object: ev.ObjectID(), Sequencer: ev.Sequencer, Epoch: p.epoch, Op: ev.Op, Outcome: outcome,
		EventID: ev.ID, SourceETag: ev.ETag, Worker: p.cfg.WorkerID, Shard: p.shard,
	})
}

// maxConvergeRounds bounds the repairs of one check. A handler call converges the output to the
// input's state at the time it read the input; if the output still does not match after that
// many, the input keeps changing, and each change brings its own event that converges again.
const maxConvergeRounds = 3

// check makes the output of ev's object match the input's current state: it asks the handler's
// Verifier whether it does and, if not, runs the handler again (a handler converges the output
// to the input's current state, whatever the event), then asks again. It needs no lease: any
// number of workers may converge one object at once, they all write the same truth. Without a
// Verifier it runs the handler once, except after our own commit (the handler just ran).
func (p *shardProcessor) check(ctx context.Context, ev envelope.Event, why string) error {
	p.m.checks.WithLabelValues(why).Inc()
	if p.verifier == nil {
		if why == checkCommit {
			return nil
		}
		if err := p.repair(ctx, ev); err != nil && !errors.Is(err, ErrPermanent) {
			return err
		}
		return nil
	}
	for round := 0; ; round++ {
		ok, err := p.verify(ctx, ev)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if round == maxConvergeRounds {
			p.log.Info("output still differs from a changing input; its next event converges it",
				slog.String("key", ev.Key), slog.Int("repairs", round))
			return nil
		}
		if err := p.repair(ctx, ev); err != nil {
			if errors.Is(err, ErrPermanent) {
				return nil
			}
			return err
		}
	}
}

// verify asks the Verifier, with the handler's deadline: a check reads what a handler reads.
func (p *shardProcessor) verify(ctx context.Context, ev envelope.Event) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.HandlerTimeout)
	defer cancel()
	return p.verifier.Verify(ctx, eventOf(ev))
}

// repair runs the handler to converge the output. A permanent failure (returned as is) is not
// the repair's to report: the input's current content cannot be converted, the handler left no
// output for it, and the record of that content is (or will be) dead-lettered.
func (p *shardProcessor) repair(ctx context.Context, ev envelope.Event) error {
	p.m.repairs.Inc()
	return p.handle(ctx, ev)
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

// retry runs fn until it succeeds, fails permanently, is abandoned, or MaxAttempts is reached.
func (p *shardProcessor) retry(fn func(ctx context.Context) error) error {
	return p.retryUntil(p.ctx, p.cfg.Retry.MaxAttempts, fn)
}

// retryForever is retry without an attempt limit, for writes that must not be lost (dead
// letters); it still stops on shutdown or lease loss.
func (p *shardProcessor) retryForever(fn func(ctx context.Context) error) error {
	return p.retryUntil(p.ctx, 0, fn)
}

// retryUntil runs fn with ctx until it succeeds, fails permanently, is abandoned, maxAttempts
// (0: no limit) is reached, or ctx ends.
func (p *shardProcessor) retryUntil(ctx context.Context, maxAttempts int, fn func(ctx context.Context) error) error {
	for attempt := 1; ; attempt++ {
		err := fn(ctx)
		switch {
		case err == nil, errors.Is(err, ErrPermanent), errors.Is(err, errAbandoned):
			return err
		case ctx.Err() != nil:
			return fmt.Errorf("%w: %v", errAbandoned, err)
		case maxAttempts > 0 && attempt >= maxAttempts:
			return fmt.Errorf("after %d attempts: %w", attempt, err)
		}
		p.m.retries.Inc()
		p.log.Warn("transient failure, retrying", slog.Int("attempt", attempt), slog.String("error", err.Error()))
		t := time.NewTimer(backoff(p.cfg.Retry, attempt))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w: %v", errAbandoned, err)
		case <-t.C:
		}
	}
}

// backoff is full-jitter exponential backoff: uniform in [0, min(Max, Base·2^(attempt-1))].
func backoff(r Retry, attempt int) time.Duration {
	d := r.Base << min(attempt-1, 30)
	if d <= 0 || d > r.Max {
		d = r.Max
	}
	return time.Duration(rand.Int64N(int64(d) + 1))
}
