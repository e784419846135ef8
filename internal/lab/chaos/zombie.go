package chaos

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"time"
)

// runZombies aims pauses at the two moments a zombie is made of. Every 12–30 s (drawn from its
// own rng) it arms one running worker that holds a shard, at one of:
//   - its next input read: the worker's own S3 proxy calls back as soon as a GetObject of an
//     input object has completed upstream, before the worker has the response, and the callback
//     pauses (SIGSTOP) the worker right there. It resumes with a read in hand that it converts
//     and writes: a late write that the conditional write must refuse, or the fence and the new
//     owner's checks must repair.
//   - its next ledger write: the worker's own DynamoDB proxy calls back when the worker's ledger
//     commit is about to be forwarded (the worker checked its lease just before sending it), the
//     callback pauses the worker and holds the commit until the pause ends, so it reaches the
//     ledger after the new owner applied the same event: a ledger conflict, which must be
//     followed by a check of the output.
//
// Either pause lasts the lease plus 1–3 s (the commit is held a little longer, 3–6 s, so the new
// owner has reached the record), so the worker's shards move on. An arm that does not fire within
// 15 s is withdrawn. Needs the per-worker proxies (API faults on).
func (in *injector) runZombies(ctx context.Context, rng *rand.Rand) {
	if in.cfg.NoPause || in.cfg.NoAPIFaults {
		return
	}
	next := time.Now().Add(time.Duration(5+rng.IntN(10)) * time.Second)
	for {
		if !sleepUntil(ctx, next) {
			return
		}
		in.aimedPause(ctx, rng, rng.IntN(2) == 0)
		next = time.Now().Add(time.Duration(12+rng.IntN(18)) * time.Second)
	}
}

// aimedPause arms one worker at its next input read, or (atCommit) its next ledger write, and,
// once the pause fired, resumes the worker after the hold.
func (in *injector) aimedPause(ctx context.Context, rng *rand.Rand, atCommit bool) {
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
	arm, what := m.arm, "right after its input read"
	fired := make(chan bool, 1)
	fire := func() { fired <- in.pauseStart(m, hold) }
	if atCommit {
		hold = in.cfg.LeaseDuration + time.Duration(3000+rng.IntN(3000))*time.Millisecond
		arm, what = m.armCommit, "holding its ledger commit"
		fire = func() {
			ok := in.pauseStart(m, hold)
			fired <- ok
			if ok {
				sleepCtx(ctx, hold) // the commit reaches the ledger when the pause ends
			}
		}
	}
	arm(fire)
	select {
	case ok := <-fired:
		if !ok {
			return // paused already by another injector
		}
	case <-time.After(15 * time.Second):
		arm(nil)
		select { // it may have fired meanwhile
		case ok := <-fired:
			if !ok {
				return
			}
		default:
			return
		}
	case <-ctx.Done():
		arm(nil)
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
	if atCommit {
		in.aimedCommitPauses++
	} else {
		in.aimedPauses++
	}
	in.mu.Unlock()
	in.log.Info("chaos: paused worker "+what, slog.String("worker", m.id), slog.Duration("for", hold))
	resume := hold // hold itself is read by the armed fn, which may still be holding the commit
	if atCommit {
		resume += 300 * time.Millisecond // resume once the held commit is on its way
	}
	sleepCtx(ctx, resume)
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
