package chaos

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/shardline/shardline/checkpoint"
	"github.com/shardline/shardline/internal/awsclients"
	"github.com/shardline/shardline/internal/deadletter"
	"github.com/shardline/shardline/internal/forwarder"
	"github.com/shardline/shardline/internal/lab/apifault"
	"github.com/shardline/shardline/internal/lab/proc"
	"github.com/shardline/shardline/internal/lab/quiesce"
	"github.com/shardline/shardline/internal/lab/scrape"
	"github.com/shardline/shardline/internal/ledger"
	"github.com/shardline/shardline/internal/setup"
	"github.com/shardline/shardline/internal/telemetry"
)

// ErrViolations is returned (wrapped) when at least one key breaks the guarantee.
var ErrViolations = errors.New("guarantee violated")

// Report is what a run measured.
type Report struct {
	Seed          int64
	Duration      time.Duration
	Workers, Keys int
	Puts, Deletes int
	FailedOps     int
	Notifications int // events MinIO delivered
	Duplicated    int // extra deliveries injected
	Reordered     int // deliveries held back and released late
	Forwarded     float64
	Applied       float64
	Duplicates    float64
	Stale         float64
	Superseded    float64
	DeadLettered  float64
	Conflicts     float64
	Repairs       float64
	Fenced        float64
	// Refused are handler writes refused by a conditional write (If-Match / If-None-Match):
	// late writes that S3 itself fenced. InSync are handler calls that found the output in sync
	// already. Checks are the output checks by what prompted them.
	Refused, InSync float64
	Checks          map[string]float64
	Kills, Pauses   int
	// AimedPauses are pauses past the lease started right after the worker read an input
	// (also counted in Pauses).
	AimedPauses int
	// AimedCommitPauses are pauses past the lease that held the worker's ledger commit until
	// they ended (also counted in Pauses).
	AimedCommitPauses int
	// Double faults: kills while another worker was paused past its lease, and kills of a
	// worker right after it committed a record (both also counted in Kills).
	KillsInPause, KillsAfterCommit int
	// APIFaults are the AWS API faults injected into the processes' calls, per service,
	// operation and kind (none when APIFaultsOff).
	APIFaults    []apifault.Count
	APIFaultsOff bool
	// Versioned: the input bucket was versioned; LoadOps counts the load's operations by kind.
	Versioned bool
	LoadOps   map[string]int
	// Operator commands run during the load (OperatorsOff when turned off).
	OperatorsOff     bool
	OperatorRuns     map[string]int
	OperatorLog      []string
	ReconcileFound   int
	ReconcileFixes   int
	LettersRedriven  int
	LettersPending   int
	ReprocessDownFor []time.Duration
	Accounting       accounting
	Added, Removed   int
	Reshards         []string
	LeaseMoves       int
	Failovers        []time.Duration
	GracefulStops    []time.Duration
	CatchUp          time.Duration
	KeysChecked      int
	Violations       []violation
	InjectorErrors   []string
	LeaseDuration    time.Duration
	NotCaughtUpWhy   string
}

// Run runs the chaos scenario and writes the report to cfg.Out. It returns an error wrapping
// ErrViolations when the guarantee does not hold, or another error when the run itself failed.
//
// Its phases: create the resources, start the forwarder behind the fault-injecting proxy, start
// the workers and the watchers, run the load with the faults, quiesce, and check and report.
func Run(ctx context.Context, clients awsclients.Clients, cfg Config) (*Report, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	r := newRun(clients, cfg)
	defer r.cleanUp()
	if err := r.create(ctx); err != nil {
		return nil, err
	}
	if err := r.startForwarder(ctx); err != nil {
		return nil, err
	}
	if err := r.startWorkers(ctx); err != nil {
		return nil, err
	}
	if err := r.runLoad(ctx); err != nil {
		return nil, err
	}
	q, err := r.quiesce(ctx)
	if err != nil {
		return nil, err
	}
	return r.report(ctx, q)
}

// run is one chaos run: its resources, processes and watchers, as the phases of Run set them up.
type run struct {
	cfg     Config
	clients awsclients.Clients
	log     *slog.Logger
	rng     *rand.Rand
	// Resource names.
	stream, leases, ledgerT, dead, in, out string
	// cleanups run in reverse order when Run returns.
	cleanups []func()

	api     *apiFaults // nil when cfg.NoAPIFaults
	procEnv []string   // points the processes at api's proxies
	fwdAddr string
	px      *proxy
	bg      context.Context // the background loops', ended by the first cleanup registered
	bgWG    sync.WaitGroup

	cl        *cluster
	inspector *checkpoint.Checkpointer
	lw        *leaseWatch
	ld        *load
	led       *ledger.Ledger
	letters   *deadletter.Store
	inj       *injector
}

// newRun names the resources of a run of cfg (unique per second and seed).
func newRun(clients awsclients.Clients, cfg Config) *run {
	suffix := time.Now().UTC().Format("150405") + fmt.Sprintf("-%d", cfg.Seed%1000)
	return &run{
		cfg: cfg, clients: clients, log: cfg.Logger, rng: rand.New(rand.NewPCG(uint64(cfg.Seed), 0x5ead)),
		stream: "chaos-" + suffix, leases: "chaos-" + suffix + "-leases", ledgerT: "chaos-" + suffix + "-ledger", dead: "chaos-" + suffix + "-dead",
		in: "chaos-in-" + suffix, out: "chaos-out-" + suffix,
	}
}

// atEnd registers f to run when Run returns, after the cleanups registered later.
func (r *run) atEnd(f func()) { r.cleanups = append(r.cleanups, f) }

// cleanUp runs the registered cleanups, the last registered first.
func (r *run) cleanUp() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
}

// create makes the stream, the tables and the buckets (the input versioned when cfg.Versioned).
func (r *run) create(ctx context.Context) error {
	c, cfg := r.clients, r.cfg
	err := setup.Run(ctx, setup.Clients{S3: c.S3, Kinesis: c.Kinesis, DynamoDB: c.DynamoDB}, setup.Config{
		StreamName: r.stream, Shards: cfg.Shards, LeaseTable: r.leases, LedgerTable: r.ledgerT, DeadLetterTable: r.dead,
		InputBucket: r.in, OutputBucket: r.out, NotifyQueueARN: cfg.NotifyARN,
	}, r.log)
	if err != nil {
		return err
	}
	if cfg.Versioned {
		if _, err := c.S3.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(r.in),
			VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}}); err != nil {
			return fmt.Errorf("enable versioning on %s: %w", r.in, err)
		}
	}
	fmt.Fprintf(cfg.Out, "chaos: seed %d, %s of load at %.0f ops/s over %d keys, %d workers, stream %s (%d shards)\n",
		cfg.Seed, cfg.Duration, cfg.Rate, cfg.Keys, cfg.Workers, r.stream, cfg.Shards)
	return nil
}

// startForwarder starts the AWS API fault proxies (unless turned off), the forwarder process,
// and the fault-injecting proxy MinIO posts to.
func (r *run) startForwarder(ctx context.Context) error {
	cfg := r.cfg
	// The forwarder and the workers reach the stack through the AWS API fault proxies; the
	// harness's own clients (setup, load, inspector, checker) keep the real endpoints. The
	// proxies stop last, after every process.
	if !cfg.NoAPIFaults {
		api, procEnv, err := startAPIFaults(cfg.Seed, r.log)
		if err != nil {
			return err
		}
		r.api, r.procEnv = api, procEnv
		r.atEnd(api.close)
		fmt.Fprintf(cfg.Out, "  AWS API faults on: processes reach S3, Kinesis and DynamoDB through fault proxies\n")
	}

	// Forwarder process, behind the fault-injecting proxy MinIO posts to.
	fwdAddr, err := proc.FreeAddr()
	if err != nil {
		return err
	}
	r.fwdAddr = fwdAddr
	fwdToken, err := proc.NewToken()
	if err != nil {
		return err
	}
	fwdEnv := append(append([]string(nil), r.procEnv...), "SHARDLINE_WEBHOOK_TOKEN="+fwdToken)
	fwd, err := proc.StartEnv(cfg.Binary, cfg.LogDir, "chaos-", "forwarder", fwdEnv, "forward", "--listen", fwdAddr, "--stream", r.stream, "--s3-path-style", "--input-buckets", r.in)
	if err != nil {
		return err
	}
	r.atEnd(func() { _ = fwd.Stop(20 * time.Second) })
	if err := fwd.WaitReady(ctx, "http://"+fwdAddr+"/readyz", 60*time.Second); err != nil {
		return err
	}
	px := &proxy{target: "http://" + fwdAddr + "/webhook", token: fwdToken, minioToken: cfg.WebhookToken, bucket: r.in, rng: rand.New(rand.NewPCG(uint64(cfg.Seed), 0xd0b)), dupP: 0.1, holdP: 0.1}
	if cfg.NoDuplicates {
		px.dupP = 0
	}
	if cfg.NoReorder {
		px.holdP = 0
	}
	r.px = px
	ln, err := net.Listen("tcp", cfg.WebhookAddr)
	if err != nil {
		return fmt.Errorf("webhook address %s (is a demo or forwarder running?): %w", cfg.WebhookAddr, err)
	}
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	r.bg = bg
	r.atEnd(func() {
		stopBG()
		r.bgWG.Wait()
	})
	r.bgWG.Add(2)
	go func() {
		defer r.bgWG.Done()
		// The proxy answers MinIO only after the forwarder did, which may retry PutRecords for
		// its whole put deadline.
		_ = telemetry.ServerConfig{WriteTimeout: 2 * time.Minute}.ServeListener(bg, ln, px, slog.New(slog.DiscardHandler))
	}()
	go func() {
		defer r.bgWG.Done()
		px.releaser(bg)
	}()
	return nil
}

// startWorkers starts cfg.Workers workers, the lease watch and the metric scrape.
func (r *run) startWorkers(ctx context.Context) error {
	cfg := r.cfg
	cl := &cluster{binary: cfg.Binary, logDir: cfg.LogDir, env: r.procEnv, args: []string{
		"--stream", r.stream, "--lease-table", r.leases, "--ledger-table", r.ledgerT, "--dead-letter-table", r.dead,
		"--output-bucket", r.out, "--s3-path-style", "--lease-duration", cfg.LeaseDuration.String(),
		"--shard-sync-interval", "1s", "--idle-between-reads", "200ms", "--stop-timeout", "15s", "--log-level", "info",
	}}
	r.cl = cl
	if r.api != nil {
		cl.proxies = r.workerProxies
	}
	r.atEnd(func() { cl.stopAll(20 * time.Second) })
	for i := 0; i < cfg.Workers; i++ {
		if _, err := cl.start(ctx, false); err != nil {
			return err
		}
	}
	inspector, err := checkpoint.New(checkpoint.Config{Client: r.clients.DynamoDB, TableName: r.leases, WorkerID: "chaos-inspector"})
	if err != nil {
		return err
	}
	r.inspector = inspector
	r.lw = &leaseWatch{table: inspector, owner: map[string]string{}}
	r.bgWG.Add(2)
	go func() {
		defer r.bgWG.Done()
		r.lw.run(r.bg)
	}()
	go func() {
		defer r.bgWG.Done()
		_ = quiesce.Every(r.bg, time.Second, func() error {
			cl.scrapeAll(r.bg)
			return nil
		})
	}()
	return nil
}

// workerProxies gives each worker its own S3 and DynamoDB fault proxies, which tell the harness
// when the worker has just read an input or is about to write its ledger (runZombies pauses it
// right there).
func (r *run) workerProxies(gen int, m *member) ([]string, error) {
	inPrefix := "/" + r.in + "/"
	s3, err := r.api.workerProxy(apifault.S3, gen, func(op string, req *http.Request) {
		if op == "GetObject" && strings.HasPrefix(req.URL.Path, inPrefix) {
			m.inputRead()
		}
	}, nil)
	if err != nil {
		return nil, err
	}
	ddb, err := r.api.workerProxy(apifault.DynamoDB, gen, nil, func(op string, req *http.Request) {
		if op == "PutItem" && m.commitArmed() && writesTable(req, r.ledgerT) {
			m.ledgerCommit()
		}
	})
	if err != nil {
		return nil, err
	}
	return []string{s3, ddb}, nil
}

// runLoad runs the load and every fault injector for cfg.Duration, reporting progress every 30s.
func (r *run) runLoad(ctx context.Context) error {
	cfg, c := r.cfg, r.clients
	ld, err := newLoad(c.S3, r.in, cfg.Keys, r.rng)
	if err != nil {
		return err
	}
	ld.versioned = cfg.Versioned
	r.ld = ld
	if r.led, err = ledger.New(c.DynamoDB, r.ledgerT); err != nil {
		return err
	}
	if r.letters, err = deadletter.New(c.DynamoDB, r.dead); err != nil {
		return err
	}
	inj := &injector{cfg: &r.cfg, cluster: r.cl, leases: r.lw, kc: c.Kinesis, stream: r.stream,
		rng: rand.New(rand.NewPCG(uint64(cfg.Seed), 0xfa17)), log: r.log}
	r.inj = inj
	if !cfg.NoOperators {
		writer, err := forwarder.NewWriter(forwarder.WriterConfig{Client: c.Kinesis, StreamName: r.stream, Logger: r.log})
		if err != nil {
			return err
		}
		inj.ops = &operators{s3: c.S3, kc: c.Kinesis, in: r.in, out: r.out, stream: r.stream, ledger: r.led,
			letters: r.letters, leases: r.inspector, writer: writer, runs: map[string]int{}, redrivenID: map[string]string{}}
	}
	loadCtx, stopLoad := context.WithTimeout(ctx, cfg.Duration)
	r.atEnd(stopLoad)
	seeded := func(stream uint64) *rand.Rand { return rand.New(rand.NewPCG(uint64(cfg.Seed), stream)) }
	var runWG sync.WaitGroup
	runWG.Go(func() { ld.run(loadCtx, cfg.Rate, r.rng) })
	runWG.Go(func() { inj.run(loadCtx, cfg.Duration) })
	runWG.Go(func() { inj.runZombies(loadCtx, seeded(0x2041e)) })
	runWG.Go(func() { inj.runOperators(loadCtx, seeded(0x0be7)) })
	if !cfg.NoDoubleFaults {
		runWG.Go(func() { inj.runDouble(loadCtx, seeded(0xd0b1e)) })
	}
	started := time.Now()
	_ = quiesce.Every(loadCtx, 30*time.Second, func() error {
		puts, dels, _ := ld.counts()
		fmt.Fprintf(cfg.Out, "  %s: %d puts, %d deletes, %d workers running\n", time.Since(started).Round(time.Second), puts, dels, len(r.cl.running()))
		return nil
	})
	runWG.Wait()
	inj.restarts.Wait() // after every injector loop returned: none adds a restart any more
	return ctx.Err()
}

// quiesced is what the quiesce phase measured.
type quiesced struct {
	puts, dels, failed int
	catchUp            time.Duration
	catchErr           error  // the workers did not catch up
	why                string // what was still behind when they did not
}

// quiesce resumes paused workers, restarts missing ones, and waits until every notification was
// delivered and released and the workers caught up with the stream.
func (r *run) quiesce(ctx context.Context) (quiesced, error) {
	cl, px := r.cl, r.px
	for _, m := range cl.running() {
		if m.isPaused() {
			_ = m.proc.Resume()
			m.setPaused(false)
		}
	}
	for len(cl.running()) < r.cfg.Workers {
		if _, err := cl.start(ctx, false); err != nil {
			return quiesced{}, err
		}
	}
	loadEnd := time.Now()
	var q quiesced
	q.puts, q.dels, q.failed = r.ld.counts()
	fmt.Fprintf(r.cfg.Out, "  load stopped: %d puts, %d deletes; waiting for notifications and catch-up\n", q.puts, q.dels)
	if err := waitUntil(ctx, r.cfg.CatchUp, func() bool {
		received, _, _ := px.stats()
		return received >= q.puts+q.dels
	}); err != nil {
		received, _, _ := px.stats()
		return quiesced{}, fmt.Errorf("MinIO delivered %d of %d notifications: %w", received, q.puts+q.dels, err)
	}
	if err := waitUntil(ctx, r.cfg.CatchUp, func() bool { return px.release(ctx, true) == 0 }); err != nil {
		return quiesced{}, fmt.Errorf("held notifications not accepted by the forwarder: %w", err)
	}
	end := quiesce.NewTracker(r.clients.Kinesis, r.stream)
	q.catchErr = waitUntil(ctx, r.cfg.CatchUp, func() bool {
		ok, w, err := end.CaughtUp(ctx, r.inspector)
		q.why = w
		if err != nil {
			q.why = err.Error()
		}
		return ok
	})
	q.catchUp = time.Since(loadEnd)
	cl.scrapeAll(ctx)
	return q, nil
}

// report checks the guarantee and the accounting, writes the report, and says whether the
// guarantee held.
func (r *run) report(ctx context.Context, q quiesced) (*Report, error) {
	cfg, inj := r.cfg, r.inj
	vs, checked, err := checkGuarantee(ctx, r.clients.S3, r.in, r.out, r.led, r.ld)
	if err != nil {
		return nil, err
	}
	objs := make([]string, 0, len(r.ld.keys))
	for _, k := range r.ld.keys {
		objs = append(objs, r.in+"/"+k)
	}
	var redriven int
	if inj.ops != nil {
		inj.ops.mu.Lock()
		redriven = inj.ops.redriven
		inj.ops.mu.Unlock()
	}
	acct, err := account(ctx, r.cl.all(), r.letters, r.led, objs, redriven)
	if err != nil {
		return nil, fmt.Errorf("accounting: %w", err)
	}
	received, duplicated, held := r.px.stats()
	fwdMetrics, _ := scrape.Get(ctx, "http://"+r.fwdAddr+"/metrics")
	w := r.cl.totals()
	moves, failovers := r.lw.stats()
	inj.mu.Lock()
	rep := &Report{
		Seed: cfg.Seed, Duration: cfg.Duration, Workers: cfg.Workers, Keys: cfg.Keys,
		Puts: q.puts, Deletes: q.dels, FailedOps: q.failed, Notifications: received, Duplicated: duplicated, Reordered: held,
		Forwarded:    fwdMetrics.Sum("shardline_forwarder_records_forwarded_total"),
		Applied:      w.Sum("shardline_worker_records_total", "outcome=applied"),
		Duplicates:   w.Sum("shardline_worker_records_total", "outcome=duplicate"),
		Stale:        w.Sum("shardline_worker_records_total", "outcome=stale"),
		Superseded:   w.Sum("shardline_worker_records_total", "outcome=superseded"),
		DeadLettered: w.Sum("shardline_worker_records_total", "outcome=dead_lettered"),
		Conflicts:    w.Sum("shardline_worker_ledger_conflicts_total"),
		Repairs:      w.Sum("shardline_worker_output_repairs_total"),
		Fenced:       w.Sum("shardline_worker_late_writes_fenced_total"),
		Refused:      w.Sum("shardline_handler_conditional_writes_refused_total"),
		InSync:       w.Sum("shardline_handler_outputs_in_sync_total"),
		Checks:       map[string]float64{},
		Kills:        inj.kills, Pauses: inj.pauses, AimedPauses: inj.aimedPauses, AimedCommitPauses: inj.aimedCommitPauses, Added: inj.added, Removed: inj.removed,
		KillsInPause: inj.killsInPause, KillsAfterCommit: inj.killsAfterCommit,
		APIFaults: r.api.counts(), APIFaultsOff: cfg.NoAPIFaults,
		Reshards: inj.reshards, LeaseMoves: moves, Failovers: failovers, GracefulStops: inj.stops,
		CatchUp: q.catchUp, KeysChecked: checked, Violations: vs, InjectorErrors: inj.errors,
		LeaseDuration: cfg.LeaseDuration,
		Versioned:     cfg.Versioned, LoadOps: r.ld.kindCounts(), OperatorsOff: cfg.NoOperators, Accounting: acct,
	}
	inj.mu.Unlock()
	for _, after := range []string{"commit", "conflict", "duplicate", "own_write", "fence", "dead_letter"} {
		rep.Checks[after] = w.Sum("shardline_worker_output_checks_total", "after="+after)
	}
	if o := inj.ops; o != nil {
		o.mu.Lock()
		rep.OperatorRuns, rep.OperatorLog = o.runs, o.what
		rep.ReconcileFound, rep.ReconcileFixes = o.found, o.enqueued
		rep.LettersRedriven, rep.LettersPending = o.redriven, o.pending
		rep.ReprocessDownFor = o.stopped
		o.mu.Unlock()
	}
	if q.catchErr != nil {
		rep.NotCaughtUpWhy = q.why
	}
	rep.Write(cfg.Out)
	switch {
	case len(vs) > 0:
		return rep, fmt.Errorf("%w: %d keys", ErrViolations, len(vs))
	case len(acct.Problems) > 0:
		return rep, fmt.Errorf("%w: accounting: %d problems", ErrViolations, len(acct.Problems))
	case q.catchErr != nil:
		return rep, fmt.Errorf("%w: workers did not catch up within %s (%s)", ErrViolations, cfg.CatchUp, q.why)
	}
	return rep, nil
}

// waitUntil polls cond every 500ms until it holds or timeout passes.
func waitUntil(ctx context.Context, timeout time.Duration, cond func() bool) error {
	return quiesce.Poll(ctx, timeout, 500*time.Millisecond, func() (bool, error) { return cond(), nil })
}
