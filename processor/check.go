package processor

import (
	"context"
	"errors"
	"log/slog"

	"github.com/shardline/shardline/internal/envelope"
)

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
