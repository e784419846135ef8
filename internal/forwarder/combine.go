package forwarder

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Defaults of the call combining, used when the corresponding WriterConfig field is zero.
const (
	// DefaultMaxCallsInFlight is how many PutRecords calls a Writer makes at once.
	DefaultMaxCallsInFlight = 2
	// DefaultMaxPendingRecords is how many records may wait for a PutRecords call.
	DefaultMaxPendingRecords = 10 * MaxRequestRecords
)

// ErrBacklogFull is wrapped by the error of a Write whose records found MaxPendingRecords
// records already waiting for a PutRecords call: nothing of it was sent, and the sender should
// retry later (the webhook answers 503).
var ErrBacklogFull = errors.New("too many records waiting for PutRecords")

// combiner joins the PutRecords attempts of concurrent Writes into shared calls ("group
// commit"), without a goroutine of its own: an attempt that finds fewer than maxInFlight calls
// being made makes one itself, carrying every attempt that waits (up to the request limits);
// otherwise it waits, and the first caller of a call that ends hands the freed slot to the
// oldest attempt still waiting. At low load every attempt is sent at once, alone, as before;
// under load the waiting attempts ride together in the next call. No timer delays anything.
//
// An attempt is never split: its records stay together and in order in one call (so records of
// one key in one Write keep their order, as when every Write made its own calls), and a Write
// has at most one attempt pending at a time. Which records of a call Kinesis refused goes back to
// the attempt that carried them; each Write retries its own and keeps its own deadline.
type combiner struct {
	send        func(ctx context.Context, records []record) ([]failure, error)
	maxInFlight int
	maxPending  int
	observe     func(records int) // records per call made

	mu       sync.Mutex
	queue    []*attempt // waiting to be carried, oldest first
	pending  int        // records in queue
	inFlight int        // calls being made, and slots handed to an attempt that has not used its yet
}

// attempt is one PutRecords attempt of one Write.
type attempt struct {
	ctx     context.Context
	records []record
	bytes   int
	result  chan outcome  // receives once, after the call that carried the attempt
	lead    chan struct{} // receives when the attempt is handed a free slot (under combiner.mu)
}

// outcome is what a call did with one attempt's records.
type outcome struct {
	failed []failure
	err    error
}

// put sends records (at most one call's worth) in a call it makes or shares, and returns the
// records Kinesis refused, in order, or the error of the call as a whole; as Writer.put does.
// When ctx ends while the records wait, or ride in a call another caller makes, put returns
// ctx's error at once (the records may still get in; the call goes on for the attempts that still
// wait). A caller that makes a call returns when the call does: its context ends at the latest
// deadline of the attempts it carries and when none of them waits any more, so a leader
// answers at most that much later than its own deadline.
func (c *combiner) put(ctx context.Context, records []record) ([]failure, error) {
	a := &attempt{ctx: ctx, records: records, result: make(chan outcome, 1), lead: make(chan struct{}, 1)}
	for _, r := range records {
		a.bytes += r.size
	}
	c.mu.Lock()
	if c.pending > 0 && c.pending+len(records) > c.maxPending {
		pending := c.pending
		c.mu.Unlock()
		return nil, fmt.Errorf("%w: %d waiting, limit %d", ErrBacklogFull, pending, c.maxPending)
	}
	c.queue = append(c.queue, a)
	c.pending += len(records)
	leader := c.inFlight < c.maxInFlight
	if leader {
		c.inFlight++
	}
	c.mu.Unlock()
	for {
		if leader {
			c.call()
			leader = false
		}
		select {
		case o := <-a.result:
			c.leave(a)
			return o.failed, o.err
		case <-a.lead:
			leader = true
		case <-ctx.Done():
			c.leave(a)
			select {
			case o := <-a.result: // answered as ctx ended: the answer is worth more
				return o.failed, o.err
			default:
				return nil, ctx.Err()
			}
		}
	}
}

// call takes the waiting attempts that fit one PutRecords call, oldest first, makes the call,
// gives its slot to the oldest attempt still waiting and answers the attempts it carried. The
// caller holds a slot.
func (c *combiner) call() {
	c.mu.Lock()
	n, records, bytes := 0, 0, 0
	for _, a := range c.queue {
		if n > 0 && (records+len(a.records) > MaxRequestRecords || bytes+a.bytes > MaxRequestBytes) {
			break
		}
		n, records, bytes = n+1, records+len(a.records), bytes+a.bytes
	}
	carried := slices.Clone(c.queue[:n])
	c.queue = slices.Delete(c.queue, 0, n)
	c.pending -= records
	c.mu.Unlock()
	if n == 0 { // others took every attempt while this one waited for its slot
		c.release()
		return
	}

	all := make([]record, 0, records)
	for _, a := range carried {
		all = append(all, a.records...)
	}
	ctx, cancel := callContext(carried)
	defer cancel()
	c.observe(len(all))
	failed, err := c.send(ctx, all)
	c.release() // the next call can start while this one's attempts are answered
	// failed is in request order: hand each attempt the failures within its own span.
	start := 0
	for _, a := range carried {
		end := start + len(a.records)
		o := outcome{err: err}
		for len(failed) > 0 && failed[0].index < end {
			f := failed[0]
			f.index -= start
			o.failed = append(o.failed, f)
			failed = failed[1:]
		}
		a.result <- o
		start = end
	}
}

// release frees a slot and hands it to the oldest waiting attempt that has none.
func (c *combiner) release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.inFlight--
	c.promote()
}

// promote hands free slots to waiting attempts, oldest first. c.mu is held.
func (c *combiner) promote() {
	for _, a := range c.queue {
		if c.inFlight >= c.maxInFlight {
			return
		}
		if len(a.lead) == 0 {
			a.lead <- struct{}{}
			c.inFlight++
		}
	}
}

// leave takes a out of the queue if it is still there, and frees the slot it was handed and will
// not use.
func (c *combiner) leave(a *attempt) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if i := slices.Index(c.queue, a); i >= 0 {
		c.queue = slices.Delete(c.queue, i, i+1)
		c.pending -= len(a.records)
	}
	select {
	case <-a.lead:
		c.inFlight--
		c.promote()
	default:
	}
}

// callContext is the context of a call that carries attempts: it keeps the values of the first
// one, ends at the latest of their deadlines, and is cancelled as soon as every attempt's own
// context has ended (nobody waits for the answer any more), but not before; its cause is then
// the cause of the last one to end.
func callContext(carried []*attempt) (context.Context, context.CancelFunc) {
	ctx := context.WithoutCancel(carried[0].ctx)
	var latest time.Time
	for _, a := range carried {
		d, ok := a.ctx.Deadline()
		if !ok {
			latest = time.Time{}
			break
		}
		if d.After(latest) {
			latest = d
		}
	}
	cancelDeadline := context.CancelFunc(func() {})
	if !latest.IsZero() {
		ctx, cancelDeadline = context.WithDeadline(ctx, latest)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	var (
		mu    sync.Mutex
		alive = len(carried)
		stops = make([]func() bool, 0, len(carried))
	)
	for _, a := range carried {
		stops = append(stops, context.AfterFunc(a.ctx, func() {
			mu.Lock()
			defer mu.Unlock()
			if alive--; alive == 0 {
				cancel(context.Cause(a.ctx))
			}
		}))
	}
	return ctx, func() {
		for _, stop := range stops {
			stop()
		}
		cancel(context.Canceled)
		cancelDeadline()
	}
}
