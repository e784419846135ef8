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

	mu       sync.Mutex
	kills    int
	pauses   int
	added    int
	removed  int
	reshards []string
	stops    []time.Duration // graceful stop times of removed workers
	errors   []string
	restarts sync.WaitGroup
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
			in.restarts.Wait()
			return
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
				in.kill(ctx)
			case "pause":
				in.pause(ctx)
			case "scale":
				in.scale(ctx)
			}
		}
	}
}

func (in *injector) victim() *member {
	var live []*member
	for _, m := range in.cluster.running() {
		if !m.isPaused() {
			live = append(live, m)
		}
	}
	if len(live) == 0 {
		return nil
	}
	return live[in.rng.IntN(len(live))]
}

func (in *injector) note(err error) {
	in.mu.Lock()
	in.errors = append(in.errors, err.Error())
	in.mu.Unlock()
	in.log.Warn("chaos", slog.String("error", err.Error()))
}

// kill sends SIGKILL to a random worker and starts a replacement a few seconds later.
func (in *injector) kill(ctx context.Context) {
	m := in.victim()
	if m == nil {
		return
	}
	in.leases.killed(m.id)
	m.proc.Kill()
	in.cluster.remove(m)
	in.mu.Lock()
	in.kills++
	in.mu.Unlock()
	delay := time.Duration(2000+in.rng.IntN(3000)) * time.Millisecond
	in.log.Info("chaos: killed worker", slog.String("worker", m.id), slog.Duration("restart_in", delay))
	in.restarts.Add(1)
	go func() {
		defer in.restarts.Done()
		select {
		case <-ctx.Done():
		case <-time.After(delay):
		}
		if _, err := in.cluster.start(context.WithoutCancel(ctx), m.extra); err != nil {
			in.note(fmt.Errorf("restart after kill: %w", err))
		}
	}()
}

// pause stops a random worker (SIGSTOP) for longer than its lease, then lets it continue: a
// zombie that wakes up wherever it was, possibly mid-write.
func (in *injector) pause(ctx context.Context) {
	m := in.victim()
	if m == nil {
		return
	}
	hold := in.cfg.LeaseDuration + time.Duration(2000+in.rng.IntN(3000))*time.Millisecond
	if err := m.proc.Pause(); err != nil {
		in.note(err)
		return
	}
	m.setPaused(true)
	in.mu.Lock()
	in.pauses++
	in.mu.Unlock()
	in.log.Info("chaos: paused worker", slog.String("worker", m.id), slog.Duration("for", hold))
	select {
	case <-ctx.Done():
	case <-time.After(hold):
	}
	if err := m.proc.Resume(); err != nil {
		in.note(err)
	}
	m.setPaused(false)
}

// scale adds a worker, or removes (SIGTERM) the one it added before, which makes the KCL
// rebalance leases.
func (in *injector) scale(ctx context.Context) {
	for _, m := range in.cluster.running() {
		if m.extra && !m.isPaused() {
			start := time.Now()
			err := m.proc.Stop(30 * time.Second)
			in.cluster.remove(m)
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
	m, err := in.cluster.start(ctx, true)
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
	what, err := fn(ctx, in.kc, in.stream, in.rng)
	if err != nil {
		in.note(err)
		return
	}
	in.mu.Lock()
	in.reshards = append(in.reshards, what)
	in.mu.Unlock()
	in.log.Info("chaos: resharded", slog.String("what", what))
}
