package chaos

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"time"
)

// runZombies aims pauses at the moment a zombie is made of: between a handler's read of the
// input and its write of the output. Every 12–30 s (drawn from its own rng) it arms one running
// worker that holds a shard; the worker's own S3 proxy calls back as soon as a GetObject of an input object has
// completed upstream, before the worker has the response, and the callback pauses (SIGSTOP) that
// worker right there. It stays paused for its lease plus 1–3 s, so its shards move on, and then
// resumes with a read in hand that it converts and writes: a late write that the conditional
// write must refuse, or the fence and the new owner's checks must repair. An arm that does not
// fire within 15 s is withdrawn. Needs the per-worker S3 proxies (API faults on).
func (in *injector) runZombies(ctx context.Context, rng *rand.Rand) {
	if in.cfg.NoPause || in.cfg.NoAPIFaults {
		return
	}
	next := time.Now().Add(time.Duration(5+rng.IntN(10)) * time.Second)
	for {
		if !sleepUntil(ctx, next) {
			return
		}
		in.aimedPause(ctx, rng)
		next = time.Now().Add(time.Duration(12+rng.IntN(18)) * time.Second)
	}
}

// aimedPause arms one worker and, once the pause fired, resumes the worker after the hold.
func (in *injector) aimedPause(ctx context.Context, rng *rand.Rand) {
	if len(in.cluster.running()) < 2 {
		return // a zombie needs another worker to take its shards
	}
	// A worker that holds a shard reads inputs; one without a lease would never fire.
	owners := in.leases.owners()
	var live []*member
	for _, m := range in.cluster.running() {
		if !m.isPaused() && owners[m.id] {
			live = append(live, m)
		}
	}
	if len(live) == 0 {
		return
	}
	m := live[rng.IntN(len(live))]
	hold := in.cfg.LeaseDuration + time.Duration(1000+rng.IntN(2000))*time.Millisecond
	fired := make(chan bool, 1)
	m.arm(func() { fired <- in.pauseStart(m, hold) })
	select {
	case ok := <-fired:
		if !ok {
			return // paused already by another injector
		}
	case <-time.After(15 * time.Second):
		m.arm(nil)
		select { // it may have fired meanwhile
		case ok := <-fired:
			if !ok {
				return
			}
		default:
			return
		}
	case <-ctx.Done():
		m.arm(nil)
		select {
		case ok := <-fired:
			if ok {
				in.pauseEnd(m)
			}
		default:
		}
		return
	}
	in.mu.Lock()
	in.aimedPauses++
	in.mu.Unlock()
	in.log.Info("chaos: paused worker right after its input read", slog.String("worker", m.id), slog.Duration("for", hold))
	sleepCtx(ctx, hold)
	in.pauseEnd(m)
}

// sleepUntil waits until t and reports false if ctx ended first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-tm.C:
		return true
	}
}
