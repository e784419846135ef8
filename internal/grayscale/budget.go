package grayscale

import (
	"context"
	"fmt"

	"golang.org/x/sync/semaphore"

	"github.com/shardline/shardline/processor"
)

// memoryBudget bounds the bytes all puts of a Converter hold at once: each put reserves its input
// body and what converting its image costs on its path (conversionCost) before it reads the body,
// and gives them back once its output is written.
type memoryBudget struct {
	size int64
	sem  *semaphore.Weighted

	// Test hooks, nil in production: onWait runs when an acquisition has to wait, onAcquire
	// after bytes are acquired and onRelease just before they are released.
	onWait, onAcquire, onRelease func(bytes int64)
}

func newMemoryBudget(size int64) *memoryBudget {
	return &memoryBudget{size: size, sem: semaphore.NewWeighted(size)}
}

// reservation is the part of a memoryBudget one put holds.
type reservation struct {
	b    *memoryBudget
	held int64
}

// reserve waits until n bytes fit in the budget and returns them as a reservation, or ctx's
// error (transient) if ctx ends first. More than the whole budget is a permanent
// ReasonOverMemoryBudget: no wait would make it fit.
func (b *memoryBudget) reserve(ctx context.Context, n int64, what string) (*reservation, error) {
	r := &reservation{b: b}
	if err := r.growTo(ctx, n, what); err != nil {
		return nil, err
	}
	return r, nil
}

// growTo makes r hold n bytes if it holds fewer. It never waits while holding bytes: if the
// extra bytes are not free at once it gives back what it holds and waits for all n, so puts
// that grow cannot deadlock each other. On error r holds nothing.
func (r *reservation) growTo(ctx context.Context, n int64, what string) error {
	if n <= r.held {
		return nil
	}
	b := r.b
	if n > b.size {
		r.release()
		return processor.Permanent(ReasonOverMemoryBudget, fmt.Errorf("%s needs %d bytes, more than the memory budget of %d", what, n, b.size))
	}
	extra := n - r.held
	if b.sem.TryAcquire(extra) {
		r.acquired(extra)
		return nil
	}
	r.release()
	if b.onWait != nil {
		b.onWait(n)
	}
	if err := b.sem.Acquire(ctx, n); err != nil {
		return fmt.Errorf("waiting for %d bytes of the memory budget: %w", n, err)
	}
	r.acquired(n)
	return nil
}

func (r *reservation) acquired(n int64) {
	r.held += n
	if r.b.onAcquire != nil {
		r.b.onAcquire(n)
	}
}

// release gives back everything r holds; it may be called more than once.
func (r *reservation) release() {
	if r.held == 0 {
		return
	}
	if r.b.onRelease != nil { // before the bytes become available to a waiter
		r.b.onRelease(r.held)
	}
	r.b.sem.Release(r.held)
	r.held = 0
}
