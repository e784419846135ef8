package chaos

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/shardline/shardline/checkpoint"
	"github.com/shardline/shardline/internal/deadletter"
	"github.com/shardline/shardline/internal/forwarder"
	"github.com/shardline/shardline/internal/ledger"
	"github.com/shardline/shardline/internal/reconcile"
	"github.com/shardline/shardline/internal/redrive"
	"github.com/shardline/shardline/internal/reprocess"
	"github.com/shardline/shardline/internal/reshard"
	"github.com/shardline/shardline/internal/shardmap"
	"github.com/shardline/shardline/internal/shardscan"
)

// The operator commands the harness runs during the load, as an operator would, through the
// same packages as the CLI.
const (
	opReconcile = "reconcile --fix"
	opRedrive   = "redrive"
	opReprocess = "reprocess --epoch-bump"
	opScale     = "reshard scale"
)

// operators runs operator commands during the load. The harness's own clients reach the stack
// directly (not through the API fault proxies): an operator's failed command is reported as an
// injector error, and what is under test is how the workers take the commands' effects.
type operators struct {
	s3      *s3.Client
	kc      *kinesis.Client
	in, out string
	stream  string
	ledger  *ledger.Ledger
	letters *deadletter.Store
	leases  *checkpoint.Checkpointer
	writer  *forwarder.Writer

	mu         sync.Mutex
	runs       map[string]int
	found      int               // reconcile: problems found
	enqueued   int               // reconcile: repair events put on the stream
	redriven   int               // letters put back into the stream and removed
	pending    int               // letters redrive left for a later run (their dead-lettering had not committed)
	redrivenID map[string]string // letter id → event id, of every letter redriven
	stopped    []time.Duration   // reprocess: time the workers were down
	what       []string          // one line per command, in order
}

// runOperators runs one operator command every 35–70 s (the first after 10–20 s), cycling
// through reconcile --fix, redrive, a partial reprocess with an epoch bump and reshard scale in
// an order drawn from rng for every cycle.
func (in *injector) runOperators(ctx context.Context, rng *rand.Rand) {
	if in.cfg.NoOperators || in.ops == nil {
		return
	}
	next := time.Now().Add(time.Duration(10+rng.IntN(10)) * time.Second)
	var cycle []string
	for {
		if !sleepUntil(ctx, next) {
			return
		}
		if len(cycle) == 0 {
			cycle = []string{opReconcile, opRedrive, opReprocess, opScale}
			rng.Shuffle(len(cycle), func(i, j int) { cycle[i], cycle[j] = cycle[j], cycle[i] })
		}
		op := cycle[0]
		cycle = cycle[1:]
		// A command that started runs to its end, even if the load stops meanwhile.
		opCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Minute)
		what, err := in.operate(opCtx, op, rng)
		cancel()
		if err != nil {
			in.note(fmt.Errorf("operator %s: %w", op, err))
		}
		in.ops.mu.Lock()
		in.ops.runs[op]++
		if what != "" {
			in.ops.what = append(in.ops.what, what)
		}
		in.ops.mu.Unlock()
		in.log.Info("chaos: operator", slog.String("command", op), slog.String("result", what))
		next = time.Now().Add(time.Duration(35+rng.IntN(35)) * time.Second)
	}
}

func (in *injector) operate(ctx context.Context, op string, rng *rand.Rand) (string, error) {
	o := in.ops
	switch op {
	case opReconcile:
		res, err := reconcile.Run(ctx, reconcile.Config{S3: o.s3, Ledger: o.ledger, Writer: o.writer, InputBucket: o.in, OutputBucket: o.out, Fix: true})
		o.mu.Lock()
		o.found += len(res.Problems)
		o.enqueued += res.Enqueued
		o.mu.Unlock()
		return fmt.Sprintf("%s: %d inputs, %d problems, %d repairs enqueued", op, res.Inputs, len(res.Problems), res.Enqueued), err
	case opRedrive:
		res, err := redrive.Run(ctx, redrive.Config{Kinesis: o.kc, Letters: o.letters, Ledger: o.ledger, Stream: o.stream, Deadline: time.Minute})
		o.mu.Lock()
		o.redriven += res.Deleted
		o.pending += res.Pending
		for _, l := range res.Letters {
			if l.Done {
				o.redrivenID[l.ID] = l.Object
			}
		}
		o.mu.Unlock()
		return fmt.Sprintf("%s: %d letters, %d put back, %d pending", op, res.Selected, res.Deleted, res.Pending), err
	case opScale:
		return in.scaleStream(ctx, rng)
	case opReprocess:
		return in.reprocess(ctx, rng)
	}
	return "", fmt.Errorf("unknown operator command %q", op)
}

// scaleStream scales the stream to one shard more or fewer than it has open (between 1 and 4),
// as `shardline reshard scale` does (kinesalite has no UpdateShardCount: splits and merges).
func (in *injector) scaleStream(ctx context.Context, rng *rand.Rand) (string, error) {
	in.gate.RLock()
	defer in.gate.RUnlock()
	m, err := shardmap.Read(ctx, in.kc, in.stream)
	if err != nil {
		return "", err
	}
	n := len(m.Open())
	target := n + 1
	if n >= 4 || (n > 1 && rng.IntN(2) == 0) {
		target = n - 1
	}
	r := &reshard.Resharder{Client: in.kc, Stream: in.stream, Wait: 2 * time.Minute}
	steps, err := r.Scale(ctx, target, reshard.Auto)
	what := fmt.Sprintf("%s %d → %d (%d steps)", opScale, n, target, len(steps))
	if len(steps) > 0 {
		in.mu.Lock()
		in.reshards = append(in.reshards, fmt.Sprintf("scale %d→%d", n, target))
		in.mu.Unlock()
	}
	return what, err
}

// reprocess runs a partial replay with an epoch bump the way the command requires: stop every
// worker (SIGTERM, so they release their leases; a paused one is resumed first), wait until no
// lease is live (a killed worker's lease expires), rewind from a time 20–60 s back or from one
// record of one shard, bump the epoch, and start as many workers as were running. No worker
// starts meanwhile: restarts after kills and scale-ups wait for the gate.
func (in *injector) reprocess(ctx context.Context, rng *rand.Rand) (string, error) {
	in.gate.Lock()
	defer in.gate.Unlock()
	down := time.Now()
	var extras []bool
	var wg sync.WaitGroup
	for _, m := range in.cluster.running() {
		if !in.cluster.take(m) {
			continue
		}
		extras = append(extras, m.extra)
		m.arm(nil)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if m.isPaused() {
				_ = m.proc.Resume()
			}
			if err := m.proc.Stop(30 * time.Second); err != nil {
				in.note(fmt.Errorf("reprocess: stop %s: %w", m.id, err))
			}
		}()
	}
	wg.Wait()
	// Start the workers again whatever happens below.
	defer func() {
		for _, extra := range extras {
			if _, err := in.cluster.start(context.WithoutCancel(ctx), extra); err != nil {
				in.note(fmt.Errorf("reprocess: restart worker: %w", err))
			}
		}
		in.ops.mu.Lock()
		in.ops.stopped = append(in.ops.stopped, time.Since(down))
		in.ops.mu.Unlock()
	}()
	if err := waitUntil(ctx, 2*in.cfg.LeaseDuration+30*time.Second, func() bool {
		leases, err := in.ops.leases.Scan(ctx)
		if err != nil {
			return false
		}
		for _, l := range leases {
			if l.Owner != "" && time.Now().Before(l.LeaseTimeout) {
				return false
			}
		}
		return true
	}); err != nil {
		return "", fmt.Errorf("leases still live after every worker stopped: %w", err)
	}
	from, err := in.replayFrom(ctx, rng)
	if err != nil {
		return "", err
	}
	res, err := reprocess.Run(ctx, reprocess.Config{
		Kinesis: in.kc, Leases: in.ops.leases, Epochs: in.ops.ledger, Stream: in.stream, From: from, EpochBump: true,
	})
	what := fmt.Sprintf("%s --from %s: %d shards rewound, epoch %d → %d", opReprocess, from, res.Rewound, res.EpochBefore, res.EpochAfter)
	var live *reprocess.LiveLeasesError
	if errors.As(err, &live) {
		err = fmt.Errorf("a lease is live with every worker stopped: %w", err)
	}
	return what, err
}

// replayFrom draws where a partial replay starts: half the time a time 20–60 s back, else the
// first record at such a time in one open shard (as shard:sequence).
func (in *injector) replayFrom(ctx context.Context, rng *rand.Rand) (reprocess.From, error) {
	at := time.Now().Add(-time.Duration(20+rng.IntN(40)) * time.Second)
	if rng.IntN(2) == 0 {
		return reprocess.From{Kind: reprocess.FromTime, Time: at}, nil
	}
	m, err := shardmap.Read(ctx, in.kc, in.stream)
	if err != nil {
		return reprocess.From{}, err
	}
	open := m.Open()
	if len(open) == 0 {
		return reprocess.From{}, errors.New("no open shard")
	}
	s := open[rng.IntN(len(open))]
	r := &shardscan.Reader{Client: in.kc, Stream: in.stream}
	rec, found, err := r.First(ctx, s.ID, shardscan.AtTime(at))
	if err != nil {
		return reprocess.From{}, err
	}
	if !found {
		return reprocess.From{Kind: reprocess.FromTime, Time: at}, nil
	}
	return reprocess.From{Kind: reprocess.FromSequence, Shard: s.ID, Sequence: rec.Sequence}, nil
}
