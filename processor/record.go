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
)

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
func (p *shardProcessor) processEvent(rec *types.Record, ev envelope.Event, pre *ledgerRead) bool {
	var err error
	log := p.log.With(slog.String("key", ev.Key), slog.String("bucket", ev.Bucket), slog.String("sequencer", ev.Sequencer), slog.String("op", ev.Op))

	var (
		outcome  string
		settle   bool // the ledger has an outcome for this object: only make the output match it
		attempts int
	)
	err = p.retry(func(ctx context.Context) error {
		attempts++
		if settle {
			return p.converge(ctx, ev)
		}
		o, err := p.apply(ctx, ev, pre)
		pre = nil
		switch {
		case errors.Is(err, ledger.ErrConflict):
			// Someone committed a newer or equal event while we ran the handler: our output
			// write may have overwritten theirs, so make the output match the ledger.
			p.m.conflicts.Inc()
			log.Warn("ledger conflict after handler: converging output")
			outcome, settle = OutcomeStale, true
			return p.converge(ctx, ev)
		case err != nil:
			return err
		case o == OutcomeApplied:
			// Committed. A zombie's late write may still land on the output: verify.
			outcome, settle = o, true
			return p.verifyCommitted(ctx, ev)
		}
		outcome = o
		return nil
	})
	switch {
	case err == nil:
		p.m.records.WithLabelValues(outcome).Inc()
		if outcome != OutcomeApplied {
			log.Debug("event dropped", slog.String("outcome", outcome))
		}
		return true
	case errors.Is(err, errAbandoned):
		return false
	case errors.Is(err, ErrPermanent):
		reason := ReasonOf(err)
		if reason == "" {
			reason = ReasonPermanent
		}
		return p.deadLetter(rec, &ev, reason, err, attempts)
	default:
		return p.deadLetter(rec, &ev, ReasonRetriesExhausted, err, attempts)
	}
}

// apply runs the ledger rule, the handler and the ledger commit for one event.
func (p *shardProcessor) apply(ctx context.Context, ev envelope.Event, pre *ledgerRead) (string, error) {
	var (
		entry ledger.Entry
		found bool
		err   error
	)
	if pre != nil {
		entry, found = pre.entry, pre.found
	} else if entry, found, err = p.cfg.Ledger.Get(ctx, ev.ObjectID()); err != nil {
		return "", err
	}
	switch ledger.Decide(entry, found, p.epoch, ev) {
	case ledger.Duplicate:
		return OutcomeDuplicate, nil
	case ledger.Stale:
		return OutcomeStale, nil
	}
	if !p.owns() {
		return "", errAbandoned
	}
	if err := p.handle(ctx, ev); err != nil {
		return "", err
	}
	if !p.owns() {
		// We lost the shard while the handler ran: do not commit (the next owner re-runs this
		// event; the handler is idempotent). But our write may have landed after the new
		// owner applied a newer event: fence it.
		p.fence(ctx, ev)
		return "", errAbandoned
	}
	return OutcomeApplied, p.commit(ctx, ev, ledger.OutcomeApplied)
}

// fence runs after a handler call made without the lease: if the ledger already holds an event
// at least as new as ev, the new owner may have written the output before our late write, and
// nothing else would correct it; converge does. Best effort: a failure here leaves the same
// situation as a zombie killed mid-write, which the new owner's verification covers.
func (p *shardProcessor) fence(ctx context.Context, ev envelope.Event) {
	entry, found, err := p.cfg.Ledger.Get(ctx, ev.ObjectID())
	if err != nil || ledger.Decide(entry, found, p.epoch, ev) == ledger.Apply {
		return // the new owner has not applied ev yet; its own verification covers our write
	}
	p.m.fences.Inc()
	if err := p.converge(ctx, ev); err != nil {
		p.log.Warn("fencing a late write failed", slog.String("key", ev.Key), slog.String("error", err.Error()))
	}
}

func (p *shardProcessor) handle(ctx context.Context, ev envelope.Event) error {
	start := time.Now()
	err := p.cfg.Handler.Handle(ctx, ev)
	result := "ok"
	switch {
	case errors.Is(err, ErrPermanent):
		result = "permanent"
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

// maxConvergeRounds bounds the verify-and-repair rounds of one converge call; more means writers
// keep racing, and the record is retried later.
const maxConvergeRounds = 4

// converge makes the output reflect the object's ledger entry (the last event committed, by
// anyone): it asks the handler whether the output matches that event and, if not, re-runs the
// handler as that event (which reads the input's current content), then checks again. It needs
// no lease: any number of workers may converge one object at once, they all write the same
// truth. Without a Verifier it re-runs the handler once unless the entry is ev itself.
func (p *shardProcessor) converge(ctx context.Context, ev envelope.Event) error {
	for round := 0; ; round++ {
		entry, found, err := p.cfg.Ledger.Get(ctx, ev.ObjectID())
		if err != nil {
			return err
		}
		if !found {
			return nil
		}
		want := winner(ev, entry)
		if p.verifier == nil {
			if round > 0 || (entry.Epoch == p.epoch && entry.Sequencer == ev.Sequencer && entry.Op == ev.Op) {
				return nil
			}
		} else {
			ok, err := p.verifier.Verify(ctx, want)
			if err != nil {
				return err
			}
			if ok {
				return nil
			}
			if round >= maxConvergeRounds {
				return fmt.Errorf("output of %s still does not reflect %s after %d repairs", ev.ObjectID(), want.Sequencer, round)
			}
		}
		p.m.repairs.Inc()
		if err := p.handle(ctx, want); err != nil {
			if errors.Is(err, ErrPermanent) {
				return nil // the input cannot be converted; its own record is dead-lettered
			}
			return err
		}
	}
}

// verifyCommitted checks the output right after ev was committed: usually it reflects ev and one
// read suffices; otherwise a late write of another worker landed, and converge repairs it.
func (p *shardProcessor) verifyCommitted(ctx context.Context, ev envelope.Event) error {
	if p.verifier == nil {
		return nil
	}
	ok, err := p.verifier.Verify(ctx, ev)
	if err != nil || ok {
		return err
	}
	return p.converge(ctx, ev)
}

// winner is the event the ledger entry records, rebuilt from it, so that a repaired output's
// metadata names that event. A dead-lettered put counts as a delete: its output must not exist.
func winner(ev envelope.Event, entry ledger.Entry) envelope.Event {
	w := ev
	w.Op, w.Sequencer, w.ID, w.ETag = entry.Op, entry.Sequencer, entry.EventID, entry.SourceETag
	if entry.Outcome == ledger.OutcomeDeadLettered {
		w.Op = envelope.OpDelete
	}
	if w.Op != envelope.OpDelete {
		w.Op = envelope.OpPut
	}
	return w
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
	p.m.records.WithLabelValues(OutcomeDeadLettered).Inc()
	p.m.deadLetters.WithLabelValues(reason).Inc()
	attrs := []any{slog.String("reason", reason), slog.String("sequence_number", letter.SequenceNumber), slog.String("error", letter.Error)}
	if ev != nil {
		attrs = append(attrs, slog.String("bucket", ev.Bucket), slog.String("key", ev.Key), slog.String("sequencer", ev.Sequencer))
	}
	p.log.Warn("record dead-lettered", attrs...)
	if ev == nil {
		return true
	}
	// Best effort, bounded: the letter is stored, so the record is accounted for either way.
	// A put whose content cannot be converted must not leave an output derived from older
	// content: delete the output first, then record the outcome in the ledger so older events
	// stay stale. If a newer event was committed meanwhile, the delete may have removed its
	// output: repair from the ledger's current state.
	settle := false
	_ = p.retry(func(ctx context.Context) error {
		if settle {
			return p.converge(ctx, *ev)
		}
		if !p.owns() {
			return errAbandoned
		}
		if ev.Op == envelope.OpPut {
			gone := *ev
			gone.Op = envelope.OpDelete
			if err := p.handle(ctx, gone); err != nil && !errors.Is(err, ErrPermanent) {
				return err
			}
		}
		err := p.commit(ctx, *ev, ledger.OutcomeDeadLettered)
		if errors.Is(err, ledger.ErrConflict) {
			p.m.conflicts.Inc()
		} else if err != nil {
			return err
		}
		settle = true
		return p.converge(ctx, *ev)
	})
	return true
}

// retry runs fn until it succeeds, fails permanently, is abandoned, or MaxAttempts is reached.
func (p *shardProcessor) retry(fn func(ctx context.Context) error) error {
	return p.retryN(p.cfg.Retry.MaxAttempts, fn)
}

// retryForever is retry without an attempt limit, for writes that must not be lost (dead
// letters); it still stops on shutdown or lease loss.
func (p *shardProcessor) retryForever(fn func(ctx context.Context) error) error {
	return p.retryN(0, fn)
}

func (p *shardProcessor) retryN(maxAttempts int, fn func(ctx context.Context) error) error {
	for attempt := 1; ; attempt++ {
		err := fn(p.ctx)
		switch {
		case err == nil, errors.Is(err, ErrPermanent), errors.Is(err, errAbandoned):
			return err
		case p.ctx.Err() != nil:
			return fmt.Errorf("%w: %v", errAbandoned, err)
		case maxAttempts > 0 && attempt >= maxAttempts:
			return fmt.Errorf("after %d attempts: %w", attempt, err)
		}
		p.m.retries.Inc()
		p.log.Warn("transient failure, retrying", slog.Int("attempt", attempt), slog.String("error", err.Error()))
		t := time.NewTimer(backoff(p.cfg.Retry, attempt))
		select {
		case <-p.ctx.Done():
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
