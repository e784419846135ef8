package processor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/shardline/shardline/internal/envelope"
	"github.com/shardline/shardline/internal/ledger"
)

// errAbandoned means the record was left unfinished because the worker is shutting down or lost
// the shard; it will be processed again by whoever holds the lease next.
var errAbandoned = errors.New("abandoned: shutting down or lease lost")

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
	return p.finish(rec, ev, attempt{outcome: outcome, attempts: attempts, wrote: wrote, err: err})
}

// attempt is what processEvent's attempts at one record came to.
type attempt struct {
	outcome  string // the record's outcome when err is nil
	attempts int
	wrote    bool // a handler call ran (its write may have landed, whatever it returned)
	err      error
}

// finish accounts for a record after its attempts: counted with its outcome, fenced when it was
// abandoned after a handler call, or dead-lettered with the reason of its last error. It reports
// whether the record is finished (false: abandoned).
func (p *shardProcessor) finish(rec *types.Record, ev envelope.Event, a attempt) bool {
	switch err := a.err; {
	case err == nil:
		p.m.records.WithLabelValues(a.outcome).Inc()
		if a.outcome != OutcomeApplied && p.log.Enabled(p.ctx, slog.LevelDebug) {
			p.log.Debug("event dropped", slog.String("key", ev.Key), slog.String("bucket", ev.Bucket),
				slog.String("sequencer", ev.Sequencer), slog.String("op", ev.Op), slog.String("outcome", a.outcome))
		}
		return true
	case errors.Is(err, errAbandoned):
		if a.wrote && p.ctx.Err() == nil {
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
		return p.deadLetter(rec, &ev, reason, err, a.attempts)
	case errors.Is(err, ErrTimeout):
		return p.deadLetter(rec, &ev, ReasonTimeout, err, a.attempts)
	default:
		return p.deadLetter(rec, &ev, ReasonRetriesExhausted, err, a.attempts)
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
