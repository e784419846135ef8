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
func Run(ctx context.Context, clients awsclients.Clients, cfg Config) (*Report, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x5ead))
	suffix := time.Now().UTC().Format("150405") + fmt.Sprintf("-%d", cfg.Seed%1000)
	stream, leases, ledgerT, dead := "chaos-"+suffix, "chaos-"+suffix+"-leases", "chaos-"+suffix+"-ledger", "chaos-"+suffix+"-dead"
	in, out := "chaos-in-"+suffix, "chaos-out-"+suffix
	err := setup.Run(ctx, setup.Clients{S3: clients.S3, Kinesis: clients.Kinesis, DynamoDB: clients.DynamoDB}, setup.Config{
		StreamName: stream, Shards: cfg.Shards, LeaseTable: leases, LedgerTable: ledgerT, DeadLetterTable: dead,
		InputBucket: in, OutputBucket: out, NotifyQueueARN: cfg.NotifyARN,
	}, log)
	if err != nil {
		return nil, err
	}
	if cfg.Versioned {
		if _, err := clients.S3.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(in),
			VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}}); err != nil {
			return nil, fmt.Errorf("enable versioning on %s: %w", in, err)
		}
	}
	fmt.Fprintf(cfg.Out, "chaos: seed %d, %s of load at %.0f ops/s over %d keys, %d workers, stream %s (%d shards)\n",
		cfg.Seed, cfg.Duration, cfg.Rate, cfg.Keys, cfg.Workers, stream, cfg.Shards)

	// The forwarder and the workers reach the stack through the AWS API fault proxies; the
	// harness's own clients (setup, load, inspector, checker) keep the real endpoints. The
	// proxies stop last, after every process.
	var procEnv []string
	var api *apiFaults
	if !cfg.NoAPIFaults {
		api, procEnv, err = startAPIFaults(cfg.Seed, log)
		if err != nil {
			return nil, err
		}
		defer api.close()
		fmt.Fprintf(cfg.Out, "  AWS API faults on: processes reach S3, Kinesis and DynamoDB through fault proxies\n")
	}

	// Forwarder process, behind the fault-injecting proxy MinIO posts to.
	fwdAddr, err := proc.FreeAddr()
	if err != nil {
		return nil, err
	}
	fwdToken, err := proc.NewToken()
	if err != nil {
		return nil, err
	}
	fwdEnv := append(append([]string(nil), procEnv...), "SHARDLINE_WEBHOOK_TOKEN="+fwdToken)
	fwd, err := proc.StartEnv(cfg.Binary, cfg.LogDir, "chaos-", "forwarder", fwdEnv, "forward", "--listen", fwdAddr, "--stream", stream, "--s3-path-style", "--input-buckets", in)
	if err != nil {
		return nil, err
	}
	defer func() { _ = fwd.Stop(20 * time.Second) }()
	if err := fwd.WaitReady(ctx, "http://"+fwdAddr+"/readyz", 60*time.Second); err != nil {
		return nil, err
	}
	px := &proxy{target: "http://" + fwdAddr + "/webhook", token: fwdToken, minioToken: cfg.WebhookToken, bucket: in, rng: rand.New(rand.NewPCG(uint64(cfg.Seed), 0xd0b)), dupP: 0.1, holdP: 0.1}
	if cfg.NoDuplicates {
		px.dupP = 0
	}
	if cfg.NoReorder {
		px.holdP = 0
	}
	ln, err := net.Listen("tcp", cfg.WebhookAddr)
	if err != nil {
		return nil, fmt.Errorf("webhook address %s (is a demo or forwarder running?): %w", cfg.WebhookAddr, err)
	}
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	var bgWG sync.WaitGroup
	defer func() {
		stopBG()
		bgWG.Wait()
	}()
	bgWG.Add(2)
	go func() {
		defer bgWG.Done()
		// The proxy answers MinIO only after the forwarder did, which may retry PutRecords for
		// its whole put deadline.
		_ = telemetry.ServerConfig{WriteTimeout: 2 * time.Minute}.ServeListener(bg, ln, px, slog.New(slog.DiscardHandler))
	}()
	go func() {
		defer bgWG.Done()
		px.releaser(bg)
	}()

	// Workers.
	cl := &cluster{binary: cfg.Binary, logDir: cfg.LogDir, env: procEnv, args: []string{
		"--stream", stream, "--lease-table", leases, "--ledger-table", ledgerT, "--dead-letter-table", dead,
		"--output-bucket", out, "--s3-path-style", "--lease-duration", cfg.LeaseDuration.String(),
		"--shard-sync-interval", "1s", "--idle-between-reads", "200ms", "--stop-timeout", "15s", "--log-level", "info",
	}}
	if api != nil {
		// Each worker reaches S3 and DynamoDB through its own proxies, which tell the harness
		// when the worker has just read an input or is about to write its ledger (runZombies
		// pauses it right there).
		inPrefix := "/" + in + "/"
		cl.proxies = func(gen int, m *member) ([]string, error) {
			s3, err := api.workerProxy(apifault.S3, gen, func(op string, r *http.Request) {
				if op == "GetObject" && strings.HasPrefix(r.URL.Path, inPrefix) {
					m.inputRead()
				}
			}, nil)
			if err != nil {
				return nil, err
			}
			ddb, err := api.workerProxy(apifault.DynamoDB, gen, nil, func(op string, r *http.Request) {
				if op == "PutItem" && m.commitArmed() && writesTable(r, ledgerT) {
					m.ledgerCommit()
				}
			})
			if err != nil {
				return nil, err
			}
			return []string{s3, ddb}, nil
		}
	}
	defer cl.stopAll(20 * time.Second)
	for i := 0; i < cfg.Workers; i++ {
		if _, err := cl.start(ctx, false); err != nil {
			return nil, err
		}
	}
	inspector, err := checkpoint.New(checkpoint.Config{Client: clients.DynamoDB, TableName: leases, WorkerID: "chaos-inspector"})
	if err != nil {
		return nil, err
	}
	lw := &leaseWatch{table: inspector, owner: map[string]string{}}
	bgWG.Add(2)
	go func() {
		defer bgWG.Done()
		lw.run(bg)
	}()
	go func() {
		defer bgWG.Done()
		_ = quiesce.Every(bg, time.Second, func() error {
			cl.scrapeAll(bg)
			return nil
		})
	}()

	// Load and faults.
	ld, err := newLoad(clients.S3, in, cfg.Keys, rng)
	if err != nil {
		return nil, err
	}
	ld.versioned = cfg.Versioned
	led, err := ledger.New(clients.DynamoDB, ledgerT)
	if err != nil {
		return nil, err
	}
	letters, err := deadletter.New(clients.DynamoDB, dead)
	if err != nil {
		return nil, err
	}
	inj := &injector{cfg: &cfg, cluster: cl, leases: lw, kc: clients.Kinesis, stream: stream,
		rng: rand.New(rand.NewPCG(uint64(cfg.Seed), 0xfa17)), log: log}
	if !cfg.NoOperators {
		writer, err := forwarder.NewWriter(forwarder.WriterConfig{Client: clients.Kinesis, StreamName: stream, Logger: log})
		if err != nil {
			return nil, err
		}
		inj.ops = &operators{s3: clients.S3, kc: clients.Kinesis, in: in, out: out, stream: stream, ledger: led,
			letters: letters, leases: inspector, writer: writer, runs: map[string]int{}, redrivenID: map[string]string{}}
	}
	loadCtx, stopLoad := context.WithTimeout(ctx, cfg.Duration)
	defer stopLoad()
	var runWG sync.WaitGroup
	runWG.Add(2)
	go func() {
		defer runWG.Done()
		ld.run(loadCtx, cfg.Rate, rng)
	}()
	go func() {
		defer runWG.Done()
		inj.run(loadCtx, cfg.Duration)
	}()
	runWG.Add(2)
	go func() {
		defer runWG.Done()
		inj.runZombies(loadCtx, rand.New(rand.NewPCG(uint64(cfg.Seed), 0x2041e)))
	}()
	go func() {
		defer runWG.Done()
		inj.runOperators(loadCtx, rand.New(rand.NewPCG(uint64(cfg.Seed), 0x0be7)))
	}()
	if !cfg.NoDoubleFaults {
		runWG.Add(1)
		go func() {
			defer runWG.Done()
			inj.runDouble(loadCtx, rand.New(rand.NewPCG(uint64(cfg.Seed), 0xd0b1e)))
		}()
	}
	progress := time.NewTicker(30 * time.Second)
	started := time.Now()
waitLoad:
	for {
		select {
		case <-loadCtx.Done():
			break waitLoad
		case <-progress.C:
			puts, dels, _ := ld.counts()
			fmt.Fprintf(cfg.Out, "  %s: %d puts, %d deletes, %d workers running\n", time.Since(started).Round(time.Second), puts, dels, len(cl.running()))
		}
	}
	progress.Stop()
	runWG.Wait()
	inj.restarts.Wait() // after every injector loop returned: none adds a restart any more
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}

	// Quiesce: every worker running, every notification delivered and released.
	for _, m := range cl.running() {
		if m.isPaused() {
			_ = m.proc.Resume()
			m.setPaused(false)
		}
	}
	for len(cl.running()) < cfg.Workers {
		if _, err := cl.start(ctx, false); err != nil {
			return nil, err
		}
	}
	loadEnd := time.Now()
	puts, dels, failed := ld.counts()
	fmt.Fprintf(cfg.Out, "  load stopped: %d puts, %d deletes; waiting for notifications and catch-up\n", puts, dels)
	if err := waitUntil(ctx, cfg.CatchUp, func() bool {
		received, _, _ := px.stats()
		return received >= puts+dels
	}); err != nil {
		received, _, _ := px.stats()
		return nil, fmt.Errorf("MinIO delivered %d of %d notifications: %w", received, puts+dels, err)
	}
	if err := waitUntil(ctx, cfg.CatchUp, func() bool { return px.release(ctx, true) == 0 }); err != nil {
		return nil, fmt.Errorf("held notifications not accepted by the forwarder: %w", err)
	}
	end := quiesce.NewTracker(clients.Kinesis, stream)
	var why string
	catchErr := waitUntil(ctx, cfg.CatchUp, func() bool {
		ok, w, err := end.CaughtUp(ctx, inspector)
		why = w
		if err != nil {
			why = err.Error()
		}
		return ok
	})
	catchUp := time.Since(loadEnd)
	cl.scrapeAll(ctx)

	vs, checked, err := checkGuarantee(ctx, clients.S3, in, out, led, ld)
	if err != nil {
		return nil, err
	}
	objs := make([]string, 0, len(ld.keys))
	for _, k := range ld.keys {
		objs = append(objs, in+"/"+k)
	}
	var redriven int
	if inj.ops != nil {
		inj.ops.mu.Lock()
		redriven = inj.ops.redriven
		inj.ops.mu.Unlock()
	}
	acct, err := account(ctx, cl.all(), letters, led, objs, redriven)
	if err != nil {
		return nil, fmt.Errorf("accounting: %w", err)
	}
	received, duplicated, held := px.stats()
	fwdMetrics, _ := scrape.Get(ctx, "http://"+fwdAddr+"/metrics")
	w := cl.totals()
	moves, failovers := lw.stats()
	inj.mu.Lock()
	r := &Report{
		Seed: cfg.Seed, Duration: cfg.Duration, Workers: cfg.Workers, Keys: cfg.Keys,
		Puts: puts, Deletes: dels, FailedOps: failed, Notifications: received, Duplicated: duplicated, Reordered: held,
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
		APIFaults: api.counts(), APIFaultsOff: cfg.NoAPIFaults,
		Reshards: inj.reshards, LeaseMoves: moves, Failovers: failovers, GracefulStops: inj.stops,
		CatchUp: catchUp, KeysChecked: checked, Violations: vs, InjectorErrors: inj.errors,
		LeaseDuration: cfg.LeaseDuration,
		Versioned:     cfg.Versioned, LoadOps: ld.kindCounts(), OperatorsOff: cfg.NoOperators, Accounting: acct,
	}
	inj.mu.Unlock()
	for _, after := range []string{"commit", "conflict", "duplicate", "own_write", "fence", "dead_letter"} {
		r.Checks[after] = w.Sum("shardline_worker_output_checks_total", "after="+after)
	}
	if o := inj.ops; o != nil {
		o.mu.Lock()
		r.OperatorRuns, r.OperatorLog = o.runs, o.what
		r.ReconcileFound, r.ReconcileFixes = o.found, o.enqueued
		r.LettersRedriven, r.LettersPending = o.redriven, o.pending
		r.ReprocessDownFor = o.stopped
		o.mu.Unlock()
	}
	if catchErr != nil {
		r.NotCaughtUpWhy = why
	}
	r.Write(cfg.Out)
	switch {
	case len(vs) > 0:
		return r, fmt.Errorf("%w: %d keys", ErrViolations, len(vs))
	case len(acct.Problems) > 0:
		return r, fmt.Errorf("%w: accounting: %d problems", ErrViolations, len(acct.Problems))
	case catchErr != nil:
		return r, fmt.Errorf("%w: workers did not catch up within %s (%s)", ErrViolations, cfg.CatchUp, why)
	}
	return r, nil
}

// waitUntil polls cond every 500ms until it holds or timeout passes.
func waitUntil(ctx context.Context, timeout time.Duration, cond func() bool) error {
	return quiesce.Poll(ctx, timeout, 500*time.Millisecond, func() (bool, error) { return cond(), nil })
}
