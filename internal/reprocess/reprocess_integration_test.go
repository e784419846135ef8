package reprocess_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	chk "github.com/vmware/vmware-go-kcl-v2/clientlibrary/checkpoint"
	par "github.com/vmware/vmware-go-kcl-v2/clientlibrary/partition"

	"github.com/shardline/shardline/checkpoint"
	"github.com/shardline/shardline/internal/envelope"
	"github.com/shardline/shardline/internal/grayscale"
	"github.com/shardline/shardline/internal/lab/pipelinetest"
	"github.com/shardline/shardline/internal/lab/testkit"
	"github.com/shardline/shardline/internal/ledger"
	"github.com/shardline/shardline/internal/reprocess"
	"github.com/shardline/shardline/internal/shardscan"
	"github.com/shardline/shardline/processor"
)

// counting wraps the grayscale handler and counts the events it handles; it keeps Verify so the
// processor's fencing works as in production.
type counting struct {
	*grayscale.Converter
	n *atomic.Int64
}

func (c counting) Handle(ctx context.Context, ev processor.Event) error {
	c.n.Add(1)
	return c.Converter.Handle(ctx, ev)
}

func countWith(n *atomic.Int64) func(processor.Handler) processor.Handler {
	return func(h processor.Handler) processor.Handler {
		return counting{Converter: h.(*grayscale.Converter), n: n}
	}
}

func config(t *testing.T, p *pipelinetest.Pipeline, from string) reprocess.Config {
	t.Helper()
	f, err := reprocess.ParseFrom(from)
	if err != nil {
		t.Fatal(err)
	}
	leases, err := checkpoint.New(checkpoint.Config{Client: p.Clients.DynamoDB, TableName: p.Leases, WorkerID: "reprocess-test"})
	if err != nil {
		t.Fatal(err)
	}
	led, err := ledger.New(p.Clients.DynamoDB, p.Ledger)
	if err != nil {
		t.Fatal(err)
	}
	return reprocess.Config{Kinesis: p.Clients.Kinesis, Leases: leases, Epochs: led, Stream: p.Stream, From: f}
}

// TestReprocessEpochSemantics applies events with one handler setting, then replays them with
// another: a plain replay regenerates no output (every event is a duplicate), a replay with an
// epoch bump regenerates every output. Rewinding under a running worker is refused.
func TestReprocessEpochSemantics(t *testing.T) {
	p := pipelinetest.New(t, 2)
	ctx := context.Background()
	keys := []string{"a.jpg", "b.jpg", "c.jpg", "dir/d.jpg", "dir/e.jpg", "f g.jpg"}
	inputs := map[string]string{}
	for i, k := range keys {
		inputs[k] = p.PutInput(k, pipelinetest.JPEG(t, uint8(20*i)))
		p.Send(p.Event(k, envelope.OpPut, pipelinetest.Seq(10+i), inputs[k]))
	}
	w := p.StartWorker(pipelinetest.WorkerOptions{Grayscale: grayscale.Config{JPEGQuality: 90}})
	w.WaitFinished(len(keys))
	if got := w.Outcome(processor.OutcomeApplied); got != float64(len(keys)) {
		t.Fatalf("first run applied %v, want %d", got, len(keys))
	}
	if err := w.Stop(); err != nil {
		t.Fatal(err)
	}
	before := map[string]pipelinetest.Output{}
	for _, k := range keys {
		before[k] = p.OutputOf(k)
		if !before[k].Exists || before[k].SourceETag != inputs[k] {
			t.Fatalf("output %s after the first run: %+v", k, before[k])
		}
	}

	t.Run("refused while a worker holds leases", func(t *testing.T) {
		live := p.StartWorker(pipelinetest.WorkerOptions{ID: "live-worker"})
		testkit.Eventually(t, 30*time.Second, 100*time.Millisecond, func() bool {
			for _, l := range p.LeaseRows() {
				if l.Owner == "live-worker" && time.Now().Before(l.LeaseTimeout) {
					return true
				}
			}
			return false
		}, "the worker took no lease")
		_, err := reprocess.Run(ctx, config(t, p, "trim-horizon"))
		var lle *reprocess.LiveLeasesError
		if !errors.As(err, &lle) {
			t.Fatalf("err = %v, want a LiveLeasesError", err)
		}
		if err := live.Stop(); err != nil {
			t.Fatal(err)
		}
	})

	var handled atomic.Int64
	// replay runs a worker with another handler setting (JPEG quality 20, its handler calls
	// counted in handled from zero) until it finished every key, and stops it.
	replay := func(t *testing.T) *pipelinetest.Worker {
		t.Helper()
		handled.Store(0)
		w := p.StartWorker(pipelinetest.WorkerOptions{Grayscale: grayscale.Config{JPEGQuality: 20}, Wrap: countWith(&handled)})
		w.WaitFinished(len(keys))
		if err := w.Stop(); err != nil {
			t.Fatal(err)
		}
		return w
	}

	t.Run("plain replay regenerates nothing", func(t *testing.T) {
		res, err := reprocess.Run(ctx, config(t, p, "trim-horizon"))
		if err != nil {
			t.Fatal(err)
		}
		checkEveryCheckpointRewound(t, res)
		w := replay(t)
		if got := w.Outcome(processor.OutcomeDuplicate); got != float64(len(keys)) {
			t.Errorf("duplicates = %v, want %d", got, len(keys))
		}
		if n := handled.Load(); n != 0 {
			t.Errorf("handler ran %d times, want 0", n)
		}
		for _, k := range keys {
			if got := p.OutputOf(k); got.ETag != before[k].ETag {
				t.Errorf("output %s changed: %s → %s", k, before[k].ETag, got.ETag)
			}
		}
	})

	t.Run("replay with an epoch bump regenerates every output", func(t *testing.T) {
		cfg := config(t, p, "trim-horizon")
		cfg.EpochBump = true
		res, err := reprocess.Run(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if !res.EpochBumped || res.EpochBefore != 0 || res.EpochAfter != 1 {
			t.Fatalf("epoch: %+v", res)
		}
		checkEveryCheckpointRewound(t, res)
		w := replay(t)
		if got := w.Outcome(processor.OutcomeApplied); got != float64(len(keys)) {
			t.Errorf("applied = %v, want %d", got, len(keys))
		}
		if n := handled.Load(); n < int64(len(keys)) {
			t.Errorf("handler ran %d times, want at least %d", n, len(keys))
		}
		for _, k := range keys {
			got := p.OutputOf(k)
			if got.ETag == before[k].ETag || got.SourceETag != inputs[k] {
				t.Errorf("output %s not regenerated from its input: before %s, now %+v", k, before[k].ETag, got)
			}
		}
	})
}

func checkEveryCheckpointRewound(t *testing.T, res reprocess.Result) {
	t.Helper()
	n := 0
	for _, c := range res.Changes {
		if c.From != "" && (!c.Rewind || c.To != "") {
			t.Errorf("shard %s: %+v, want a rewind to TRIM_HORIZON", c.Shard, c)
		}
		if c.Rewind {
			n++
		}
	}
	if n == 0 || res.Rewound != n {
		t.Fatalf("rewound %d of %d planned (changes %+v)", res.Rewound, n, res.Changes)
	}
}

// TestRewindTargets checks the checkpoint each --from form leads to, on one shard with six
// records in two bursts.
func TestRewindTargets(t *testing.T) {
	p := pipelinetest.New(t, 1)
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		p.Send(p.Event(fmt.Sprintf("k%d.jpg", i), envelope.OpPut, pipelinetest.Seq(1), ""))
	}
	t0 := time.Now()
	testkit.Eventually(t, 2*time.Second, 10*time.Millisecond, func() bool { return time.Since(t0) > 150*time.Millisecond }, "clock")
	for i := 3; i < 6; i++ {
		p.Send(p.Event(fmt.Sprintf("k%d.jpg", i), envelope.OpPut, pipelinetest.Seq(1), ""))
	}
	shard := "shardId-000000000000"
	reader := &shardscan.Reader{Client: p.Clients.Kinesis, Stream: p.Stream}
	var recs []shardscan.Record
	if _, err := reader.Scan(ctx, shard, shardscan.TrimHorizon(), 0, func(r shardscan.Record) bool {
		recs = append(recs, r)
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if len(recs) != 6 {
		t.Fatalf("%d records in the shard, want 6", len(recs))
	}

	fake, err := checkpoint.New(checkpoint.Config{Client: p.Clients.DynamoDB, TableName: p.Leases, WorkerID: "fake-worker"})
	if err != nil {
		t.Fatal(err)
	}
	// setCheckpoint rewinds the shard to TRIM_HORIZON (checkpoints only move forwards), takes
	// the lease, checkpoints seq and releases it.
	setCheckpoint := func(seq string) {
		t.Helper()
		if l, found, err := fake.Get(ctx, shard); err != nil {
			t.Fatal(err)
		} else if found && l.Checkpoint != "" {
			if err := fake.Rewind(ctx, l, ""); err != nil {
				t.Fatal(err)
			}
		}
		s := &par.ShardStatus{ID: shard, Mux: &sync.RWMutex{}}
		_ = fake.FetchCheckpoint(s)
		if err := fake.GetLease(s, "fake-worker"); err != nil {
			t.Fatal(err)
		}
		s.SetCheckpoint(seq)
		if err := fake.CheckpointSequence(s); err != nil {
			t.Fatal(err)
		}
		if err := fake.RemoveLeaseOwner(shard); err != nil {
			t.Fatal(err)
		}
	}
	stored := func() string {
		t.Helper()
		l, _, err := fake.Get(ctx, shard)
		if err != nil {
			t.Fatal(err)
		}
		return l.Checkpoint
	}

	tests := []struct {
		name   string
		cp     string // checkpoint before
		from   string
		want   string // checkpoint after
		rewind bool
	}{
		{"time: back to the record before the first at that time", recs[5].Sequence, recs[3].Arrival.Format(time.RFC3339Nano), recs[2].Sequence, true},
		{"time: a checkpoint before that time stays", recs[1].Sequence, recs[3].Arrival.Format(time.RFC3339Nano), recs[1].Sequence, false},
		{"time: nothing after that time", recs[5].Sequence, time.Now().Format(time.RFC3339Nano), recs[5].Sequence, false},
		{"sequence: replay starts with that record", chk.ShardEnd, shard + ":" + recs[4].Sequence, recs[3].Sequence, true},
		{"sequence: the oldest record means TRIM_HORIZON", recs[5].Sequence, shard + ":" + recs[0].Sequence, "", true},
		{"trim horizon", recs[2].Sequence, "trim-horizon", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			setCheckpoint(tc.cp)
			dry := config(t, p, tc.from)
			dry.DryRun = true
			res, err := reprocess.Run(ctx, dry)
			if err != nil {
				t.Fatal(err)
			}
			if got := stored(); got != tc.cp {
				t.Fatalf("dry run changed the checkpoint to %q", got)
			}
			if len(res.Changes) != 1 || res.Changes[0].Rewind != tc.rewind || res.Changes[0].To != tc.want {
				t.Fatalf("plan %+v, want rewind %v to %q", res.Changes, tc.rewind, tc.want)
			}
			if _, err := reprocess.Run(ctx, config(t, p, tc.from)); err != nil {
				t.Fatal(err)
			}
			if got := stored(); got != tc.want {
				t.Fatalf("checkpoint %q, want %q", got, tc.want)
			}
		})
	}
}
