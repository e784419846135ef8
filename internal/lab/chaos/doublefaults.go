package chaos

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/shardline/shardline/internal/lab/scrape"
)

// runDouble is the second process-fault loop: it overlaps faults with the ones run injects.
// Every 15–35 s it either kills a worker while another one is paused past its lease (pausing
// one itself when none is), or kills a worker right after it committed a record. It draws from
// its own rng, so its choices depend on the seed alone, not on run's.
func (in *injector) runDouble(ctx context.Context, rng *rand.Rand) {
	if in.cfg.NoKill {
		return // every double fault includes a kill
	}
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	next := time.Now().Add(time.Duration(8+rng.IntN(10)) * time.Second)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if time.Now().Before(next) {
			continue
		}
		if !in.cfg.NoPause && rng.IntN(2) == 0 {
			in.killDuringPause(ctx, rng)
		} else {
			in.killAfterCommit(ctx, rng)
		}
		next = time.Now().Add(time.Duration(15+rng.IntN(20)) * time.Second)
	}
}

// killDuringPause kills a worker while another is paused past its lease: the paused one wakes
// up as a zombie into a cluster that lost a second member meanwhile.
func (in *injector) killDuringPause(ctx context.Context, rng *rand.Rand) {
	for _, m := range in.cluster.running() {
		if m.isPaused() { // run's pause is under way: kill another worker during it
			if k := in.victim(rng); k != nil && in.kill(ctx, k, rng) {
				in.countDouble(&in.killsInPause, k, "kill during a pause")
			}
			return
		}
	}
	if len(in.cluster.running()) < 2 {
		return
	}
	p := in.victim(rng)
	hold := in.cfg.LeaseDuration + time.Duration(2000+rng.IntN(3000))*time.Millisecond
	if p == nil || !in.pauseStart(p, hold) {
		return
	}
	sleepCtx(ctx, hold/2)
	if k := in.victim(rng); k != nil && ctx.Err() == nil && in.kill(ctx, k, rng) {
		in.countDouble(&in.killsInPause, k, "kill during a pause")
	}
	sleepCtx(ctx, hold-hold/2)
	in.pauseEnd(p)
}

// killAfterCommit watches a worker's applied-records counter every 20 ms and kills it as soon
// as the counter moves: the worker has just committed a record to the ledger, and the records
// in flight next to it are between their handler's write, their commit and their verify.
func (in *injector) killAfterCommit(ctx context.Context, rng *rand.Rand) {
	m := in.victim(rng)
	if m == nil {
		return
	}
	applied := func() (float64, bool) {
		sctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		got, err := scrape.Get(sctx, m.metricsURL)
		if err != nil {
			return 0, false
		}
		return got.Sum("shardline_worker_records_total", "outcome=applied"), true
	}
	base, ok := applied()
	if !ok {
		return
	}
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !in.cluster.has(m) || m.isPaused() {
			return // the other loop got there first
		}
		if n, ok := applied(); ok && n > base {
			if in.kill(ctx, m, rng) {
				in.countDouble(&in.killsAfterCommit, m, "kill right after a commit")
			}
			return
		}
	}
}

func (in *injector) countDouble(n *int, m *member, what string) {
	in.mu.Lock()
	*n++
	in.mu.Unlock()
	in.log.Info("chaos: double fault", slog.String("what", what), slog.String("worker", m.id))
}
