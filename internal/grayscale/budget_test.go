package grayscale

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/shardline/shardline/internal/envelope"
	"github.com/shardline/shardline/processor"
)

// receive returns the next value from ch, failing the test if none arrives before a generous
// deadline.
func receive[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// budgetProbe records what a Handler's pixel budget does. The first image to acquire pixels
// holds them until hold is closed.
type budgetProbe struct {
	t                  *testing.T
	waiting, acquired  chan int64
	hold               chan struct{}
	mu                 sync.Mutex
	events             []string
	inFlight, acquires int64
}

func installProbe(t *testing.T, h *Handler) *budgetProbe {
	t.Helper()
	p := &budgetProbe{t: t, waiting: make(chan int64, 4), acquired: make(chan int64, 4), hold: make(chan struct{})}
	h.budget.onWait = func(n int64) { p.record("wait", 0); p.waiting <- n }
	h.budget.onAcquire = func(n int64) {
		if first := p.record("acquire", n) == 1; first {
			p.acquired <- n
			<-p.hold
			return
		}
		p.acquired <- n
	}
	h.budget.onRelease = func(n int64) { p.record("release", -n) }
	return p
}

// record appends an event, checks that the pixels in flight stay within the budget and returns
// how many acquisitions there have been.
func (p *budgetProbe) record(ev string, delta int64) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.events = append(p.events, ev)
	p.inFlight += delta
	if ev == "acquire" {
		p.acquires++
	}
	if p.inFlight > 100 {
		p.t.Errorf("%d pixels in flight, more than the budget of 100", p.inFlight)
	}
	return p.acquires
}

func (p *budgetProbe) log() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.events...)
}

// TestPixelBudgetSerialises runs two puts whose images (64 pixels each) do not fit in the
// budget (100 pixels) together: the second waits until the first has released its pixels.
func TestPixelBudgetSerialises(t *testing.T) {
	for _, format := range []string{"jpeg", "png"} {
		t.Run(format, func(t *testing.T) {
			store := newFakeStore()
			data := encodePNG(t, gradient(8, 8))
			if format == "jpeg" {
				data = encodeJPEG(t, gradient(8, 8))
			}
			store.add(inBucket, "a", data, "")
			store.add(inBucket, "b", data, "")
			h := newTestHandler(t, store, func(c *Config) { c.MaxPixels, c.PixelBudget = 100, 100 })
			p := installProbe(t, h)

			var wg sync.WaitGroup
			errs := make([]error, 2)
			wg.Go(func() { errs[0] = h.Handle(context.Background(), testEvent(t, envelope.OpPut, inBucket, "a")) })
			receive(t, p.acquired, "the first put to acquire")
			wg.Go(func() { errs[1] = h.Handle(context.Background(), testEvent(t, envelope.OpPut, inBucket, "b")) })
			receive(t, p.waiting, "the second put to wait")
			select {
			case <-p.acquired:
				t.Fatal("the second put acquired pixels while the first held them")
			default:
			}
			close(p.hold)
			receive(t, p.acquired, "the second put to acquire")
			wg.Wait()

			for i, err := range errs {
				if err != nil {
					t.Errorf("put %d: %v", i, err)
				}
			}
			want := []string{"acquire", "wait", "release", "acquire", "release"}
			if got := p.log(); len(got) != len(want) || got[2] != "release" || got[3] != "acquire" {
				t.Errorf("events %v, want %v", got, want)
			}
			if n := store.puts.Load(); n != 2 {
				t.Errorf("%d outputs written, want 2", n)
			}
		})
	}
}

// TestPixelBudgetCancel: a put waiting for pixels returns its context's error (transient) when
// the context ends, and writes nothing.
func TestPixelBudgetCancel(t *testing.T) {
	store := newFakeStore()
	data := encodeJPEG(t, gradient(8, 8))
	store.add(inBucket, "a", data, "")
	store.add(inBucket, "b", data, "")
	h := newTestHandler(t, store, func(c *Config) { c.MaxPixels, c.PixelBudget = 100, 100 })
	p := installProbe(t, h)

	var wg sync.WaitGroup
	t.Cleanup(wg.Wait)
	var firstErr error
	wg.Go(func() { firstErr = h.Handle(context.Background(), testEvent(t, envelope.OpPut, inBucket, "a")) })
	receive(t, p.acquired, "the first put to acquire")

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	wg.Go(func() { done <- h.Handle(ctx, testEvent(t, envelope.OpPut, inBucket, "b")) })
	receive(t, p.waiting, "the second put to wait")
	cancel()
	err := receive(t, done, "the cancelled put to return")
	if !errors.Is(err, context.Canceled) || errors.Is(err, processor.ErrPermanent) {
		t.Errorf("cancelled put returned %v, want transient context.Canceled", err)
	}
	close(p.hold)
	wg.Wait()
	if firstErr != nil {
		t.Errorf("first put: %v", firstErr)
	}
	if n := store.puts.Load(); n != 1 {
		t.Errorf("%d outputs written, want 1", n)
	}
}
