package chaos

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"
)

// injector applies faults to the cluster and the stream on a schedule drawn from its rng.
type injector struct {
	cfg     *Config
	cluster *cluster
	leases  *leaseWatch
	kc      *kinesis.Client
	stream  string
	rng     *rand.Rand
	log     *slog.Logger

	mu     sync.Mutex
	kills  int
	pauses int
	// double faults (runDouble), also counted in kills
	killsInPause     int
	killsAfterCommit int
	aimedPauses      int // pauses right after an input read (runZombies), also counted in pauses
	// pauses that held a ledger commit until they ended (runZombies), also counted in pauses
	aimedCommitPauses int
	added             int
	removed           int
	reshards          []string
	stops             []time.Duration // graceful stop times of removed workers
	errors            []string
	restarts          sync.WaitGroup

	// gate keeps workers from starting, and the stream from being resharded, while an operator
	// command that needs every worker stopped runs (reprocess holds it exclusively).
	gate sync.RWMutex
	ops  *operators // nil without operators
}

func (in *injector) kinds() []string {
	var k []string
	if !in.cfg.NoKill {
		k = append(k, "kill")
	}
	if !in.cfg.NoPause {
		k = append(k, "pause")
	}
	if !in.cfg.NoScale {
		k = append(k, "scale")
	}
	return k
}

// run injects faults until ctx ends: a random fault every 10–25 s, plus (with resharding on) a
// split at 30 % and a merge at 65 % of the load.
func (in *injector) run(ctx context.Context, duration time.Duration) {
	start := time.Now()
	splitAt, mergeAt := start.Add(duration*30/100), start.Add(duration*65/100)
	didSplit, didMerge := in.cfg.NoReshard, in.cfg.NoReshard
	next := start.Add(time.Duration(5+in.rng.IntN(10)) * time.Second)
	for {
		select {
		case <-ctx.Done():
			return // the caller waits for in.restarts once every loop has returned
		case <-time.After(250 * time.Millisecond):
		}
		now := time.Now()
		switch {
		case !didSplit && now.After(splitAt):
			didSplit = true
			in.reshard(ctx, split)
		case !didMerge && now.After(mergeAt):
			didMerge = true
			in.reshard(ctx, merge)
		case now.After(next):
			next = now.Add(time.Duration(10+in.rng.IntN(15)) * time.Second)
			kinds := in.kinds()
			if len(kinds) == 0 {
				continue
			}
			switch kinds[in.rng.IntN(len(kinds))] {
			case "kill":
				if m := in.victim(in.rng); m != nil {
					in.kill(ctx, m, in.rng)
				}
			case "pause":
				in.pause(ctx, in.rng)
			case "scale":
				in.scale(ctx)
			}
		}
	}
}

// victim draws a running, unpaused worker with rng, or nil when there is none.
func (in *injector) victim(rng *rand.Rand) *member {
	var live []*member
	for _, m := range in.cluster.running() {
		if !m.isPaused() {
			live = append(live, m)
		}
	}
	if len(live) == 0 {
		return nil
	}
	return live[rng.IntN(len(live))]
}

func (in *injector) note(err error) {
	in.mu.Lock()
	in.errors = append(in.errors, err.Error())
	in.mu.Unlock()
	in.log.Warn("chaos", slog.String("error", err.Error()))
}

// kill sends SIGKILL to m and starts a replacement a few seconds later. It reports false, and
// does nothing, when m is no longer running (the other injector loop got it first).
func (in *injector) kill(ctx context.Context, m *member, rng *rand.Rand) bool {
	if !in.cluster.take(m) {
		return false
	}
	in.leases.killed(m.id)
	m.proc.Kill()
	in.mu.Lock()
	in.kills++
	in.mu.Unlock()
	delay := time.Duration(2000+rng.IntN(3000)) * time.Millisecond
	in.log.Info("chaos: killed worker", slog.String("worker", m.id), slog.Duration("restart_in", delay))
	in.restarts.Add(1)
	go func() {
		defer in.restarts.Done()
		select {
		case <-ctx.Done():
		case <-time.After(delay):
		}
		in.gate.RLock()
		defer in.gate.RUnlock()
		if _, err := in.cluster.start(context.WithoutCancel(ctx), m.extra); err != nil {
			in.note(fmt.Errorf("restart after kill: %w", err))
		}
	}()
	return true
}

// pause stops a random worker (SIGSTOP) for longer than its lease, then lets it continue: a
// zombie that wakes up wherever it was, possibly mid-write.
func (in *injector) pause(ctx context.Context, rng *rand.Rand) {
	m := in.victim(rng)
	if m == nil {
		return
	}
	hold := in.cfg.LeaseDuration + time.Duration(2000+rng.IntN(3000))*time.Millisecond
	if !in.pauseStart(m, hold) {
		return
	}
	sleepCtx(ctx, hold)
	in.pauseEnd(m)
}

// pauseStart pauses m unless it is paused already (both injector loops pause workers).
func (in *injector) pauseStart(m *member, hold time.Duration) bool {
	m.mu.Lock()
	if m.paused {
		m.mu.Unlock()
		return false
	}
	m.paused = true
	m.mu.Unlock()
	if err := m.proc.Pause(); err != nil {
		m.setPaused(false)
		in.note(err)
		return false
	}
	in.mu.Lock()
	in.pauses++
	in.mu.Unlock()
	in.log.Info("chaos: paused worker", slog.String("worker", m.id), slog.Duration("for", hold))
	return true
}

// pauseEnd resumes m, unless it was killed while paused.
func (in *injector) pauseEnd(m *member) {
	if in.cluster.has(m) {
		if err := m.proc.Resume(); err != nil {
			in.note(err)
		}
	}
	m.setPaused(false)
}

// sleepCtx waits for d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// scale adds a worker, or removes (SIGTERM) the one it added before, which makes the KCL
// rebalance leases.
func (in *injector) scale(ctx context.Context) {
	for _, m := range in.cluster.running() {
		if m.extra && !m.isPaused() {
			start := time.Now()
			if !in.cluster.take(m) {
				continue // killed by the other injector loop meanwhile
			}
			err := m.proc.Stop(30 * time.Second)
			in.mu.Lock()
			in.removed++
			in.stops = append(in.stops, time.Since(start))
			in.mu.Unlock()
			if err != nil {
				in.note(fmt.Errorf("graceful stop of %s: %w", m.id, err))
			}
			in.log.Info("chaos: removed worker", slog.String("worker", m.id), slog.Duration("stopped_in", time.Since(start)))
			return
		}
	}
	in.gate.RLock()
	m, err := in.cluster.start(ctx, true)
	in.gate.RUnlock()
	if err != nil {
		in.note(fmt.Errorf("add worker: %w", err))
		return
	}
	in.mu.Lock()
	in.added++
	in.mu.Unlock()
	in.log.Info("chaos: added worker", slog.String("worker", m.id))
}

func (in *injector) reshard(ctx context.Context, fn func(context.Context, *kinesis.Client, string, *rand.Rand) (string, error)) {
	in.gate.RLock()
	what, err := fn(ctx, in.kc, in.stream, in.rng)
	in.gate.RUnlock()
	if err != nil {
		in.note(err)
		return
	}
	in.mu.Lock()
	in.reshards = append(in.reshards, what)
	in.mu.Unlock()
	in.log.Info("chaos: resharded", slog.String("what", what))
}
