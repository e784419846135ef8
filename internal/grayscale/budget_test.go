package grayscale

import (
	"context"
	"errors"
	"math"
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

// budgetProbe records what a Converter's memory budget does. The first put to acquire bytes
// holds them until hold is closed.
type budgetProbe struct {
	t                  *testing.T
	waiting, acquired  chan int64
	hold               chan struct{}
	mu                 sync.Mutex
	events             []string
	inFlight, acquires int64
	size               int64
}

func installProbe(t *testing.T, h *Converter) *budgetProbe {
	t.Helper()
	p := &budgetProbe{t: t, size: h.budget.size, waiting: make(chan int64, 4), acquired: make(chan int64, 4), hold: make(chan struct{})}
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

// record appends an event, checks that the bytes in flight stay within the budget and returns
// how many acquisitions there have been.
func (p *budgetProbe) record(ev string, delta int64) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.events = append(p.events, ev)
	p.inFlight += delta
	if ev == "acquire" {
		p.acquires++
	}
	if p.inFlight > p.size {
		p.t.Errorf("%d bytes in flight, more than the budget of %d", p.inFlight, p.size)
	}
	return p.acquires
}

func (p *budgetProbe) log() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.events...)
}

// oneAndAHalf returns a MemoryBudget that holds the admission cost of data once, not twice.
func oneAndAHalf(t *testing.T, data []byte) func(*Config) {
	t.Helper()
	h := newTestConverter(t, newFakeStore(), nil)
	cost, err := h.admissionCost(data, int64(len(data)), true)
	if err != nil {
		t.Fatal(err)
	}
	return func(c *Config) { c.MemoryBudget = cost + cost/2 }
}

// TestMemoryBudgetSerialises runs two puts whose costs do not fit in the budget together: the
// second waits until the first has written its output and released its bytes.
func TestMemoryBudgetSerialises(t *testing.T) {
	for _, format := range []string{"jpeg", "png"} {
		t.Run(format, func(t *testing.T) {
			store := newFakeStore()
			data := encodePNG(t, gradient(8, 8))
			if format == "jpeg" {
				data = encodeJPEG(t, gradient(8, 8))
			}
			store.add(inBucket, "a", data, "")
			store.add(inBucket, "b", data, "")
			h := newTestConverter(t, store, oneAndAHalf(t, data))
			p := installProbe(t, h)

			var wg sync.WaitGroup
			errs := make([]error, 2)
			wg.Go(func() { errs[0] = h.Handle(context.Background(), testEvent(t, envelope.OpPut, inBucket, "a")) })
			receive(t, p.acquired, "the first put to acquire")
			wg.Go(func() { errs[1] = h.Handle(context.Background(), testEvent(t, envelope.OpPut, inBucket, "b")) })
			receive(t, p.waiting, "the second put to wait")
			select {
			case <-p.acquired:
				t.Fatal("the second put acquired bytes while the first held them")
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

// TestMemoryBudgetCancel: a put waiting for bytes returns its context's error (transient) when
// the context ends, and writes nothing.
func TestMemoryBudgetCancel(t *testing.T) {
	store := newFakeStore()
	data := encodeJPEG(t, gradient(8, 8))
	store.add(inBucket, "a", data, "")
	store.add(inBucket, "b", data, "")
	h := newTestConverter(t, store, oneAndAHalf(t, data))
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

// TestDefaultMemoryBudget: the default budget follows an explicit PixelBudget, else the Go memory
// limit, else MaxPixels.
func TestDefaultMemoryBudget(t *testing.T) {
	const noLimit = math.MaxInt64
	tests := []struct {
		name                             string
		pixelBudget, maxPixels, memLimit int64
		want                             int64
	}{
		{"no limit: four 8-bit RGBA images", 0, DefaultMaxPixels, noLimit, 800_000_000},
		{"memory limit: half of it", 0, DefaultMaxPixels, 966367641, 966367641 / 2},
		{"pixel budget: 4 bytes a pixel", 100_000_000, DefaultMaxPixels, 1 << 30, 400_000_000},
		{"small images: at least 256 MiB", 0, 110, noLimit, 256 << 20},
		{"huge max pixels: no overflow", 0, math.MaxInt64 / 2, noLimit, math.MaxInt64},
		{"huge pixel budget: no overflow", math.MaxInt64 / 2, DefaultMaxPixels, noLimit, math.MaxInt64},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := defaultMemoryBudget(tc.pixelBudget, tc.maxPixels, tc.memLimit); got != tc.want {
				t.Errorf("defaultMemoryBudget(%d, %d, %d) = %d, want %d", tc.pixelBudget, tc.maxPixels, tc.memLimit, got, tc.want)
			}
		})
	}
}
