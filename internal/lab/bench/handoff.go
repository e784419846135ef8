package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/shardline/shardline/checkpoint"
	"github.com/shardline/shardline/internal/lab/proc"
)

// The handoff section (issue 15, rows 3–5): how fast shards move between worker processes when
// one stops gracefully (rolling deploy), is killed (failover), or a second one starts
// (scale-out). It runs real processes, `shardline work` with its production defaults and the
// bare vmware-go-kcl-v2 (internal/bench/kclbaseline), on the same streams under a steady load,
// and watches the lease table: a shard counts as moved when the new owner's checkpoint has
// advanced past every checkpoint written before it owned the shard.

const (
	handoffLeaseDuration = 10 * time.Second // both: the KCL's default failover time
	handoffRate          = 40               // records/s offered to each stream
	handoffPoll          = 50 * time.Millisecond
	handoffTimeout       = 90 * time.Second // a bare KCL step not done by then is reported as such
	handoffBareSync      = 5 * time.Second  // = shardline's --shard-sync-interval default
)

// handoffImpl is one of the two implementations compared.
type handoffImpl struct {
	name  string
	start func(stream, table, id string) (*proc.Process, error)
	table func(res resources) string
}

func (r *runner) handoffSection(ctx context.Context, t *table) {
	const section = SectionHandoff
	rows := []struct{ what, target string }{
		{"rolling deploy: SIGTERM 1 of 2 workers (4 shards) → its shards advancing under the other", "≤ 2 s"},
		{"scale-out: 2nd worker joins 1 holding 8 shards → 4/4, both advancing", fmt.Sprintf("≤ %s", 2*handoffLeaseDuration)},
		{"failover: kill -9 of a worker holding 4 of 8 shards → all 4 re-owned and advancing", fmt.Sprintf("≤ %s", handoffLeaseDuration+2*time.Second)},
	}
	failAll := func(err error) {
		for _, rw := range rows {
			t.fail(section, rw.what, rw.target, err)
		}
	}
	logDir := r.cfg.LogDir
	if logDir == "" {
		logDir = os.TempDir()
	}
	bins, err := os.MkdirTemp("", "bench-handoff-bin-")
	if err != nil {
		failAll(err)
		return
	}
	defer os.RemoveAll(bins)
	shardline, baseline := filepath.Join(bins, "shardline"), filepath.Join(bins, "kclbaseline")
	for out, pkg := range map[string]string{shardline: proc.ShardlinePackage, baseline: "github.com/shardline/shardline/internal/lab/bench/kclbaseline"} {
		if err := proc.Build(ctx, pkg, out); err != nil {
			failAll(err)
			return
		}
	}

	four, err := r.create(ctx, "handoff4", 4, true, "")
	if err != nil {
		failAll(err)
		return
	}
	defer r.remove(four)
	eight, err := r.create(ctx, "handoff8", 8, true, "")
	if err != nil {
		failAll(err)
		return
	}
	defer r.remove(eight)
	loadCtx, stopLoad := context.WithCancel(ctx)
	var load sync.WaitGroup
	for _, res := range []resources{four, eight} {
		load.Go(func() { _, _, _ = offerLoad(loadCtx, r.cfg.Clients.Kinesis, res.stream, handoffRate, 24*time.Hour) })
	}
	defer func() {
		stopLoad()
		load.Wait()
	}()

	ours := handoffImpl{name: "shardline", table: func(res resources) string { return res.leases }}
	ours.start = func(stream, table, id string) (*proc.Process, error) {
		res := four
		if stream == eight.stream {
			res = eight
		}
		return proc.Start(shardline, logDir, "bench-handoff-", id, "work",
			"--stream", stream, "--lease-table", table, "--ledger-table", res.ledger,
			"--dead-letter-table", res.deadLetters, "--output-bucket", res.output, "--s3-path-style",
			"--worker-id", id, "--metrics-addr=", "--log-level", "info")
	}
	bare := handoffImpl{name: "bare KCL", table: func(res resources) string { return res.stream + "-kcl" }}
	bare.start = func(stream, table, id string) (*proc.Process, error) {
		return proc.Start(baseline, logDir, "bench-handoff-", id, "-stream", stream, "-app", table,
			"-worker-id", id, "-shard-sync", handoffBareSync.String(), "-lease-stealing")
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for _, res := range []resources{four, eight} {
			if _, derr := r.cfg.Clients.DynamoDB.DeleteTable(dctx, &dynamodb.DeleteTableInput{TableName: aws.String(bare.table(res))}); derr != nil {
				r.warnUnlessGone("delete table", bare.table(res), derr)
			}
		}
	}()

	for _, impl := range []handoffImpl{ours, bare} {
		note := "shardline work, production defaults (lease 10s, shard sync 5s, lease pass 250ms)"
		if impl.name == bare.name {
			note = "vmware-go-kcl-v2 defaults (lease 10s, its checkpointer) but shard sync 5s (default 60s) and lease stealing on (default off)"
		}
		report := func(i int, d time.Duration, err error) {
			what := rows[i].what + " [" + impl.name + "]"
			var timeout *handoffTimeoutError
			if err != nil && impl.name == bare.name && errors.As(err, &timeout) {
				// The baseline not getting there is a figure, not a failure of the bench.
				figure := "> " + handoffTimeout.String()
				if d > 0 {
					figure = d.Round(10 * time.Millisecond).String()
				}
				t.add(row{section: section, what: what, figure: figure, note: oneLine(err.Error()) + "; " + note})
				return
			}
			if err != nil {
				t.fail(section, what, rows[i].target, err)
				return
			}
			limit := []time.Duration{2 * time.Second, 2 * handoffLeaseDuration, handoffLeaseDuration + 2*time.Second}[i]
			met := "yes"
			if d > limit {
				met = "no"
			}
			target := rows[i].target
			if impl.name == bare.name {
				target, met = "", "" // the baseline has no target
			}
			t.add(row{section: section, what: what, figure: d.Round(10 * time.Millisecond).String(), target: target, met: met, note: note})
		}
		r.cfg.Progress.Info("handoff: rolling deploy", "impl", impl.name)
		d, err := r.rollingDeploy(ctx, impl, four)
		report(0, d, err)
		r.cfg.Progress.Info("handoff: scale-out, then failover", "impl", impl.name)
		scale, fail, err1, err2 := r.scaleOutFailover(ctx, impl, eight)
		report(1, scale, err1)
		report(2, fail, err2)
	}
}

// rollingDeploy: worker a takes the four shards, b joins and balance settles at 2/2, then a
// gets SIGTERM; the time until every shard a held advances under b.
func (r *runner) rollingDeploy(ctx context.Context, impl handoffImpl, res resources) (time.Duration, error) {
	table := impl.table(res)
	w, err := r.newLeaseWatch(table)
	if err != nil {
		return 0, err
	}
	a, b := uniqueName("a"), uniqueName("b")
	pa, err := impl.start(res.stream, table, a)
	if err != nil {
		return 0, err
	}
	if err := w.until(ctx, 3*handoffTimeout, func(s leaseState) bool { return len(s.ownedBy(a)) == 4 }); err != nil {
		pa.Kill()
		return 0, fmt.Errorf("first worker never held the 4 shards: %w", err)
	}
	pb, err := impl.start(res.stream, table, b)
	if err != nil {
		pa.Kill()
		return 0, err
	}
	defer pb.Kill()
	if err := w.until(ctx, 2*handoffTimeout, func(s leaseState) bool { return len(s.ownedBy(a)) == 2 && len(s.ownedBy(b)) == 2 }); err != nil {
		pa.Kill()
		return 0, &handoffTimeoutError{fmt.Sprintf("the workers never settled at 2/2 (second worker holds %d)", len(w.last.ownedBy(b))), err}
	}
	held := w.last.ownedBy(a)
	w.track(b)
	t0 := time.Now()
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		_ = pa.Stop(30 * time.Second)
	}()
	err = w.until(ctx, handoffTimeout, func(s leaseState) bool { return s.allAdvancedUnder(b, held) })
	d := time.Since(t0)
	<-stopped
	if err != nil {
		return 0, fmt.Errorf("after %s not every shard of the stopped worker advanced under the other: %w", d.Round(time.Second), err)
	}
	return d, nil
}

// scaleOutFailover: worker a takes the eight shards, b starts (scale-out: time until 4/4 with
// both advancing), then a is killed (failover: time until its four shards advance under b).
func (r *runner) scaleOutFailover(ctx context.Context, impl handoffImpl, res resources) (scale, failover time.Duration, scaleErr, failErr error) {
	table := impl.table(res)
	w, err := r.newLeaseWatch(table)
	if err != nil {
		return 0, 0, err, err
	}
	a, b := uniqueName("a"), uniqueName("b")
	pa, err := impl.start(res.stream, table, a)
	if err != nil {
		return 0, 0, err, err
	}
	defer pa.Kill()
	if err := w.until(ctx, 3*handoffTimeout, func(s leaseState) bool { return len(s.ownedBy(a)) == 8 }); err != nil {
		err = fmt.Errorf("first worker never held the 8 shards: %w", err)
		return 0, 0, err, err
	}
	w.track(b)
	base := w.last
	pb, err := impl.start(res.stream, table, b)
	if err != nil {
		return 0, 0, err, err
	}
	defer pb.Kill()
	t0 := time.Now()
	scaleErr = w.until(ctx, handoffTimeout, func(s leaseState) bool {
		mine, theirs := s.ownedBy(b), s.ownedBy(a)
		return len(mine) == 4 && len(theirs) == 4 && s.allAdvancedUnder(b, mine) && s.allAdvancedSince(base, theirs)
	})
	if scaleErr != nil {
		scaleErr = &handoffTimeoutError{fmt.Sprintf("second worker holds %d of 4 after %s", len(w.last.ownedBy(b)), handoffTimeout), scaleErr}
	} else {
		scale = time.Since(t0)
	}

	// Failover: kill a, holding 4 shards (or what it holds when scale-out did not get there).
	held := w.last.ownedBy(a)
	w.track(b)
	pa.Kill()
	t1 := time.Now()
	if err := w.until(ctx, handoffTimeout, func(s leaseState) bool { return s.allAdvancedUnder(b, held) }); err != nil {
		n := 0
		for _, id := range held {
			if w.last.allAdvancedUnder(b, []string{id}) {
				n++
			}
		}
		return scale, 0, scaleErr, &handoffTimeoutError{fmt.Sprintf("%d of the killed worker's %d shards advancing under the other after %s", n, len(held), handoffTimeout), err}
	}
	failover = time.Since(t1)
	if len(held) != 4 {
		return scale, failover, scaleErr, &handoffTimeoutError{fmt.Sprintf("all %d shards of the killed worker advancing after %s (it held %d, not 4)", len(held), failover.Round(10*time.Millisecond), len(held)), nil}
	}
	return scale, failover, scaleErr, nil
}

// handoffTimeoutError is a step that did not finish within handoffTimeout (or, for failover,
// started from another share than 4 of 8).
type handoffTimeoutError struct {
	what string
	err  error
}

func (e *handoffTimeoutError) Error() string { return e.what }
func (e *handoffTimeoutError) Unwrap() error { return e.err }

// leaseWatch polls a lease table (shardline's or the KCL's: the schema is the same).
type leaseWatch struct {
	cp   *checkpoint.Checkpointer
	last leaseState
	// before[shard] is the highest checkpoint seen while the shard was not owned by tracked.
	tracked string
	before  map[string]string
}

// leaseState is one reading of the table, by shard ID.
type leaseState struct {
	rows   map[string]checkpoint.Lease
	before map[string]string
}

func (r *runner) newLeaseWatch(table string) (*leaseWatch, error) {
	cp, err := checkpoint.New(checkpoint.Config{Client: r.cfg.Clients.DynamoDB, TableName: table, WorkerID: "bench-inspector"})
	if err != nil {
		return nil, err
	}
	return &leaseWatch{cp: cp, before: map[string]string{}}, nil
}

// track starts recording, per shard, the checkpoints written while owner did not own it.
func (w *leaseWatch) track(owner string) {
	w.tracked = owner
	w.before = map[string]string{}
	for id, l := range w.last.rows {
		w.before[id] = l.Checkpoint
	}
}

// until reads the table every handoffPoll until cond holds, ctx ends or timeout passes. A table
// that does not exist yet (the bare KCL creates its own) reads as empty.
func (w *leaseWatch) until(ctx context.Context, timeout time.Duration, cond func(leaseState) bool) error {
	return waitUntil(ctx, timeout, handoffPoll, func() (bool, error) {
		leases, err := w.cp.Scan(ctx)
		if err != nil {
			return false, nil
		}
		rows := make(map[string]checkpoint.Lease, len(leases))
		for _, l := range leases {
			rows[l.ShardID] = l
			if w.tracked != "" && l.Owner != w.tracked && later(l.Checkpoint, w.before[l.ShardID]) {
				w.before[l.ShardID] = l.Checkpoint
			}
		}
		w.last = leaseState{rows: rows, before: w.before}
		return cond(w.last), nil
	})
}

// ownedBy returns the shards whose row names owner.
func (s leaseState) ownedBy(owner string) []string {
	var ids []string
	for id, l := range s.rows {
		if l.Owner == owner {
			ids = append(ids, id)
		}
	}
	return ids
}

// allAdvancedUnder reports whether every shard of ids is owned by owner with a checkpoint past
// every one written before owner held it.
func (s leaseState) allAdvancedUnder(owner string, ids []string) bool {
	for _, id := range ids {
		l := s.rows[id]
		if l.Owner != owner || !later(l.Checkpoint, s.before[id]) {
			return false
		}
	}
	return true
}

// allAdvancedSince reports whether every shard of ids has a checkpoint past its checkpoint in base.
func (s leaseState) allAdvancedSince(base leaseState, ids []string) bool {
	for _, id := range ids {
		if !later(s.rows[id].Checkpoint, base.rows[id].Checkpoint) {
			return false
		}
	}
	return true
}

// later reports whether checkpoint a is past b ("" is before everything).
func later(a, b string) bool {
	oa, err := checkpoint.Order(a)
	if err != nil {
		return false
	}
	if b == "" {
		return true
	}
	ob, err := checkpoint.Order(b)
	return err != nil || oa > ob
}
