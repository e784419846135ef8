package processor

import (
	"context"
	"errors"
	"log/slog"
	"sync"

	"github.com/shardline/shardline/internal/envelope"
)

// Per-event deadline.
//
// Every handler call gets a context with a deadline of HandlerTimeout and runs in a goroutine of
// its own, so that the processor stops waiting at the deadline even when the handler ignores its
// context (CPU-bound decoding checks no context): the attempt then fails with a *TimeoutError,
// which is retried, and after MaxTimeouts of them the record is dead-lettered as "timeout" and
// the shard moves on. The goroutine of a call that ignored its deadline is "overdue": it goes on
// running, owned by the factory (WaitHandlers), counted in shardline_worker_handlers_overdue and
// bounded by MaxOverdueHandlers.
//
// What about the output an overdue call writes after the processor moved on? The guarantee is
// that the output converges to the input's current state; the late write must not break it.
//   - The handler converges to the input's current state and fences every output write with the
//     output's state read before the input (grayscale: PutObject If-Match/If-None-Match,
//     DeleteObject If-Match). A late write therefore lands only if nobody changed the output
//     since the overdue call read it, and then it is derived from input content at least as new
//     as what produced that output: it cannot regress the output. Any newer event of the object
//     is applied and checked by the shard (which moved on) and its write fences the late one
//     out. This is the same fence that makes a zombie worker's late write lose (DESIGN.md).
//   - Where a store ignores or refuses the conditions (--unconditional-writes; MinIO ignores
//     If-Match on DeleteObject) the late write could land over a newer output, exactly like a
//     zombie's. The processor closes that gap the way it closes the zombie's (fence): when an
//     overdue call returns without error (so it may have written), its goroutine checks the
//     output against the input's current state and repairs it (checkLate), bounded by
//     FenceTimeout. A call that returns an error is not checked: the handler contract says a
//     failed call leaves no output derived from older content, and re-running a handler that
//     just failed slowly would only start the next overdue call (a CPU bomb would chain forever).
//   - The ledger is never written by an overdue call: commits are the processor's, made after a
//     handler call that returned in time, under the lease. A record whose every call timed out is
//     committed as dead_lettered, so older events stay stale, and a later event of the object
//     applies as usual.
//   - A "timeout" dead letter does not run the dead-letter output check (unlike other reasons):
//     the check's repair would run the same handler on the same input and time out again. An
//     output derived from an older version of the input may therefore stay until the object's
//     next event, a reconcile --fix, or a redrive --reason timeout (after raising the limit).

// callState is where a handler call is: running, returned in time, or abandoned (overdue).
type callState int

const (
	callRunning callState = iota
	callReturned
	callAbandoned
)

// handlerCall is one handler call running in its own goroutine.
type handlerCall struct {
	mu    sync.Mutex
	state callState
	err   error
	done  chan struct{} // closed when the handler returned in time (state callReturned)
}

// handlerTracker counts the handler goroutines of a factory so that the worker can wait for
// them on shutdown; a sync.WaitGroup cannot be waited for with a deadline.
type handlerTracker struct {
	mu   sync.Mutex
	n    int
	zero chan struct{} // closed whenever n is 0
}

func newHandlerTracker() *handlerTracker {
	z := make(chan struct{})
	close(z)
	return &handlerTracker{zero: z}
}

func (t *handlerTracker) add() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.n == 0 {
		t.zero = make(chan struct{})
	}
	t.n++
}

func (t *handlerTracker) done() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.n--
	if t.n == 0 {
		close(t.zero)
	}
}

// wait returns nil once no handler goroutine runs, or the number still running when ctx ends.
func (t *handlerTracker) wait(ctx context.Context) (running int) {
	t.mu.Lock()
	z := t.zero
	t.mu.Unlock()
	select {
	case <-z:
		return 0
	case <-ctx.Done():
		t.mu.Lock()
		defer t.mu.Unlock()
		return t.n
	}
}

// WaitHandlers waits until every handler call of the factory's processors has returned (those
// abandoned at their deadline included) or ctx ends; it returns how many still run. The worker
// calls it on shutdown, after the KCL stopped, bounded by the stop timeout.
func (f *factory) WaitHandlers(ctx context.Context) int { return f.calls.wait(ctx) }

// takeOverdueSlot counts one more overdue call if fewer than limit run, and reports whether it
// did.
func (f *factory) takeOverdueSlot(limit int) bool {
	for {
		n := f.overdueN.Load()
		if n >= int64(limit) {
			return false
		}
		if f.overdueN.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// errHandlerDeadline is the cause of a handler context that reached HandlerTimeout.
var errHandlerDeadline = errors.New("handler deadline")

// callHandler runs the handler for ev with a deadline of HandlerTimeout and returns what it
// returned, or a *TimeoutError if it was still running at the deadline (or returned ctx's
// error because of it). When ctx ends first (shutdown), it returns ctx's error without waiting.
func (p *shardProcessor) callHandler(ctx context.Context, ev envelope.Event) error {
	hctx, cancel := context.WithTimeoutCause(ctx, p.cfg.HandlerTimeout, errHandlerDeadline)
	c := &handlerCall{done: make(chan struct{})}
	p.f.calls.add()
	go func() {
		defer p.f.calls.done()
		defer cancel()
		err := p.cfg.Handler.Handle(hctx, eventOf(ev))
		c.mu.Lock()
		abandoned := c.state == callAbandoned
		if !abandoned {
			c.state, c.err = callReturned, err
			close(c.done)
		}
		c.mu.Unlock()
		if abandoned {
			p.overdueReturned(ev, err)
		}
	}()

	select {
	case <-c.done:
		return p.handlerResult(hctx, c.err)
	case <-hctx.Done():
	}
	timedOut := context.Cause(hctx) == errHandlerDeadline
	if timedOut {
		p.m.timeouts.Inc()
	}
	c.mu.Lock()
	if c.state == callReturned {
		c.mu.Unlock()
		return p.handlerResult(hctx, c.err)
	}
	if p.f.takeOverdueSlot(p.cfg.MaxOverdueHandlers) {
		c.state = callAbandoned
		c.mu.Unlock()
		p.m.overdue.Inc()
	} else {
		c.mu.Unlock()
		if err, ok := p.waitOverdue(ctx, c, ev); ok {
			return p.handlerResult(hctx, err)
		}
	}
	if !timedOut {
		return ctx.Err() // shutdown: the caller abandons the record
	}
	p.log.Warn("handler ignored its deadline: abandoned, still running",
		slog.String("key", ev.Key), slog.Duration("timeout", p.cfg.HandlerTimeout))
	return &TimeoutError{Timeout: p.cfg.HandlerTimeout, Overdue: true}
}

// waitOverdue waits for a call that is past its deadline while MaxOverdueHandlers calls already
// run in the background: the shard stalls instead of the worker piling up CPU-bound goroutines.
// It reports the call's result, or ok false if the worker stopped first (the call is then
// abandoned above the limit, still tracked by the gauge and WaitHandlers).
func (p *shardProcessor) waitOverdue(ctx context.Context, c *handlerCall, ev envelope.Event) (err error, ok bool) {
	p.m.overdueWaits.Inc()
	p.log.Warn("handler past its deadline and the overdue-handler limit reached: waiting for it",
		slog.String("key", ev.Key), slog.Int("limit", p.cfg.MaxOverdueHandlers))
	select {
	case <-c.done:
		return c.err, true
	case <-ctx.Done():
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == callReturned {
		return c.err, true
	}
	c.state = callAbandoned
	p.f.overdueN.Add(1) // over the limit: released as usual when it returns
	p.m.overdue.Inc()
	return nil, false
}

// handlerResult classifies what a call that returned said: an error caused by its deadline is a
// *TimeoutError; a permanent error is a verdict on the input, kept as is.
func (p *shardProcessor) handlerResult(hctx context.Context, err error) error {
	if err != nil && !errors.Is(err, ErrPermanent) && context.Cause(hctx) == errHandlerDeadline {
		return &TimeoutError{Timeout: p.cfg.HandlerTimeout, Err: err}
	}
	return err
}

// overdueReturned runs in the goroutine of an abandoned call once the handler returned at last:
// it releases the call's overdue slot and, if the call succeeded (so it may have written an
// output after the shard moved on), checks the output against the input's current state and
// repairs it (see the comment at the top of this file).
func (p *shardProcessor) overdueReturned(ev envelope.Event, err error) {
	defer func() {
		p.f.overdueN.Add(-1)
		p.m.overdue.Dec()
	}()
	p.log.Info("an abandoned handler call returned", slog.String("key", ev.Key), slog.Bool("ok", err == nil))
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(p.ctx), p.cfg.FenceTimeout)
	defer cancel()
	if err := p.retryUntil(ctx, p.cfg.Retry.MaxAttempts, func(ctx context.Context) error { return p.check(ctx, ev, checkLate) }); err != nil {
		p.log.Warn("checking the output after a late handler return failed", slog.String("key", ev.Key), slog.String("error", err.Error()))
	}
}
