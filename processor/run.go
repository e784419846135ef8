package processor

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sirupsen/logrus"
	kclcfg "github.com/vmware/vmware-go-kcl-v2/clientlibrary/config"
	kclworker "github.com/vmware/vmware-go-kcl-v2/clientlibrary/worker"

	"github.com/shardline/shardline/checkpoint"
	"github.com/shardline/shardline/internal/bucket"
)

// Config configures a worker. Zero values of optional fields take the documented defaults.
type Config struct {
	Kinesis  *kinesis.Client  // required
	DynamoDB *dynamodb.Client // required
	Handler  Handler

	Region          string // required (the KCL wants it even with clients passed in)
	StreamName      string // required
	LeaseTable      string // required: KCL lease and checkpoint table
	LedgerTable     string // required
	DeadLetterTable string // required
	WorkerID        string // required: unique per process

	// LeaseDuration is the KCL failover time: a lease not renewed for this long may be taken
	// by another worker. Default 10s.
	LeaseDuration time.Duration
	// ShardSyncInterval is how often the worker lists the stream's shards. Default 5s.
	ShardSyncInterval time.Duration
	// LeasePassInterval is how often the worker scans the lease table (one consistent Scan) and
	// takes free, released or expired leases: every one it may hold (up to its fair share,
	// parents before children), at most one per pass as the KCL's event loop starts one shard
	// consumer a pass. Default 250ms, at most ShardSyncInterval.
	LeasePassInterval time.Duration
	// IdleBetweenReads is the pause after an empty GetRecords. Default 200ms: the next read
	// starts about 200 ms plus a read's latency later, within Kinesis's 5 reads per second per
	// shard; an event landing on an idle shard waits about half of that for its read.
	IdleBetweenReads time.Duration
	// ReadInterval paces a busy shard that is caught up: after a batch that was not full, while
	// the shard is less than ReadInterval behind the stream's tip, the next read starts no
	// sooner than ReadInterval after the previous one started. A hot object's events then pile
	// up between reads and coalesce into one handler call per read, and the shard stays below
	// Kinesis's 5 reads per second. A full batch, or a shard further behind, is read again at
	// once. Default DefaultReadInterval (250ms); negative: read again at once.
	ReadInterval time.Duration
	// MaxRecords per GetRecords call. Default 1000.
	MaxRecords int
	// StopTimeout bounds graceful shutdown after ctx is cancelled: in-flight records get two
	// thirds of it to finish, then are abandoned (left unapplied, not checkpointed). Default 30s,
	// ECS's default stop timeout.
	StopTimeout time.Duration
	// DisableLeaseStealing turns off rebalancing of leases between workers.
	DisableLeaseStealing bool

	// KeyConcurrency is how many objects of one shard's batch are processed at once; default
	// DefaultKeyConcurrency().
	KeyConcurrency int

	// InputBuckets is the allow-list of input bucket names: events of other buckets are
	// dead-lettered unread (ReasonForeignBucket), and events naming anything that is not a valid
	// bucket name (an ARN, an access-point alias) always are (ReasonInvalidBucket). Empty allows
	// every valid bucket name.
	InputBuckets []string
	// HandlerTimeout is the deadline of each handler call; default
	// DefaultHandlerTimeout. MaxTimeouts is how many calls of one record may time out
	// before it is dead-lettered as "timeout"; default 2.
	HandlerTimeout time.Duration
	MaxTimeouts    int

	// LedgerTombstoneTTL, when positive, makes ledger tombstones (applied deletes) expire this
	// long after their commit (ledger.WithTombstoneTTL); DeadLetterTTL, when positive, makes dead
	// letters expire this long after they were written (deadletter.WithTTL). Zero: never.
	LedgerTombstoneTTL time.Duration
	DeadLetterTTL      time.Duration

	// NotReadyAfter and NotLiveAfter bound Health (see Assess): with no successful shard sync
	// or lease-table call for longer than NotReadyAfter the worker is not ready, for longer
	// than NotLiveAfter it is stuck (not live). Defaults 2 × and 12 × ShardSyncInterval.
	NotReadyAfter time.Duration
	NotLiveAfter  time.Duration
	// Health, if not nil, is kept up to date by Run for /healthz and /readyz.
	Health *Health

	Retry      Retry
	Registerer prometheus.Registerer
	Logger     *slog.Logger
	// OnReady is called once the worker has started.
	OnReady func()
}

// Validate reports the first missing or invalid field.
func (c Config) Validate() error {
	for name, v := range map[string]string{
		"Region": c.Region, "StreamName": c.StreamName, "LeaseTable": c.LeaseTable,
		"LedgerTable": c.LedgerTable, "DeadLetterTable": c.DeadLetterTable, "WorkerID": c.WorkerID,
	} {
		if v == "" {
			return fmt.Errorf("worker: %s is required", name)
		}
	}
	if c.Kinesis == nil || c.DynamoDB == nil || c.Handler == nil {
		return errors.New("worker: Kinesis, DynamoDB and Handler are required")
	}
	if c.LeaseDuration < 0 || c.ShardSyncInterval < 0 || c.LeasePassInterval < 0 || c.IdleBetweenReads < 0 || c.StopTimeout < 0 || c.MaxRecords < 0 || c.KeyConcurrency < 0 ||
		c.HandlerTimeout < 0 || c.MaxTimeouts < 0 || c.NotReadyAfter < 0 || c.NotLiveAfter < 0 {
		return errors.New("worker: durations, MaxRecords, KeyConcurrency and MaxTimeouts must not be negative")
	}
	if c.LedgerTombstoneTTL < 0 || c.DeadLetterTTL < 0 {
		return errors.New("worker: LedgerTombstoneTTL and DeadLetterTTL must not be negative")
	}
	if d := c.withDefaults(); d.NotLiveAfter <= d.NotReadyAfter {
		return fmt.Errorf("worker: NotLiveAfter (%s) must be longer than NotReadyAfter (%s)", d.NotLiveAfter, d.NotReadyAfter)
	}
	for _, name := range c.InputBuckets {
		if err := bucket.Valid(name); err != nil {
			return fmt.Errorf("worker: InputBuckets: %w", err)
		}
	}
	if c.MaxRecords > 10000 {
		return errors.New("worker: MaxRecords must be at most 10000 (the GetRecords limit)")
	}
	return nil
}

func (c Config) withDefaults() Config {
	c.LeaseDuration = cmp.Or(c.LeaseDuration, 10*time.Second)
	c.ShardSyncInterval = cmp.Or(c.ShardSyncInterval, 5*time.Second)
	c.LeasePassInterval = min(cmp.Or(c.LeasePassInterval, 250*time.Millisecond), c.ShardSyncInterval)
	c.IdleBetweenReads = cmp.Or(c.IdleBetweenReads, 200*time.Millisecond)
	c.MaxRecords = cmp.Or(c.MaxRecords, 1000)
	c.StopTimeout = cmp.Or(c.StopTimeout, 30*time.Second)
	c.NotReadyAfter = cmp.Or(c.NotReadyAfter, 2*c.ShardSyncInterval)
	c.NotLiveAfter = cmp.Or(c.NotLiveAfter, 12*c.ShardSyncInterval)
	if c.Registerer == nil { // not cmp.Or: that would build a registry even when one is given
		c.Registerer = prometheus.NewRegistry()
	}
	c.Logger = cmp.Or(c.Logger, slog.Default())
	return c
}

// Run starts the worker and blocks until ctx is cancelled, then shuts down within StopTimeout:
// stop fetching, let in-flight records finish or abandon them, checkpoint, release leases.
//
// Before starting, it checks that the stream and the tables exist and answer: a missing one is
// an error wrapping ErrMissingResource that names it and says how to create it.
func Run(ctx context.Context, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	cfg = cfg.withDefaults()
	log := cfg.Logger.With(slog.String("worker", cfg.WorkerID))
	// The KCL's shard consumer also logs through logrus' global logger; keep it quiet.
	logrus.SetOutput(io.Discard)

	// Record processing outlives ctx by the drain period so that in-flight records can finish.
	procCtx, cancelProc := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelProc()
	w, err := assemble(ctx, procCtx, cfg, log)
	if err != nil {
		return err
	}
	defer w.unregister()
	if err := w.kcl.Start(); err != nil {
		err = fmt.Errorf("start KCL worker: %w", err)
		log.Error("worker not started", slog.String("error", err.Error()))
		return err
	}
	cfg.Health.start(bounds{NotReadyAfter: cfg.NotReadyAfter, NotLiveAfter: cfg.NotLiveAfter}, w.prog, time.Now)
	log.Info("worker started", slog.String("stream", cfg.StreamName), slog.String("lease_table", cfg.LeaseTable),
		slog.Duration("not_ready_after", cfg.NotReadyAfter), slog.Duration("not_live_after", cfg.NotLiveAfter))
	if cfg.OnReady != nil {
		cfg.OnReady()
	}
	<-ctx.Done()
	return w.shutdown(cfg, log, cancelProc)
}

// assembled is a worker put together and checked, not yet started.
type assembled struct {
	kcl        *kclworker.Worker
	procs      *factory
	prog       *progress
	unregister func()
}

// assemble puts the worker together: the lease table's checkpointer and the shard topology, the
// ledger and dead-letter stores, the record processors, and the KCL worker reading through our
// wrappers. It checks that the stream and the tables exist before anything starts.
func assemble(ctx, procCtx context.Context, cfg Config, log *slog.Logger) (*assembled, error) {
	// The shard list: the KCL's own listings (see cachedShardList), for planned lease taking
	// and the processor's parent checks.
	topo := &topology{kc: cfg.Kinesis, stream: cfg.StreamName, maxAge: cfg.ShardSyncInterval}
	cp, err := checkpoint.New(checkpoint.Config{
		Client: cfg.DynamoDB, TableName: cfg.LeaseTable, WorkerID: cfg.WorkerID,
		LeaseDuration: cfg.LeaseDuration, Logger: log,
		// One Scan per event-loop pass, made by its first lease-table call and shared by the
		// rest of the pass: passes are at least half an interval apart (the KCL's jitter).
		Topology: topo, ViewMaxAge: cfg.LeasePassInterval / 2,
	})
	if err != nil {
		return nil, err
	}
	topo.leases = cp
	led, dl, err := stores(cfg)
	if err != nil {
		return nil, err
	}
	allow, _ := bucket.ParseAllowList(strings.Join(cfg.InputBuckets, ",")) // checked by Validate
	procs, err := newFactory(procCtx, recordConfig{
		Handler: cfg.Handler, Ledger: led, DeadLetters: dl, Leases: cp, WorkerID: cfg.WorkerID,
		Topology:   topo,
		ParentPoll: cfg.ShardSyncInterval / 2, KeyConcurrency: cfg.KeyConcurrency,
		ReadInterval: cfg.ReadInterval, MaxRecords: cfg.MaxRecords,
		InputBuckets: allow, HandlerTimeout: cfg.HandlerTimeout, MaxTimeouts: cfg.MaxTimeouts,
		Retry: cfg.Retry, Registerer: cfg.Registerer, Logger: log,
	})
	if err != nil {
		return nil, err
	}
	if err := preflight(ctx, resourceChecks(cfg, func(ctx context.Context) error {
		_, err := led.Epoch(ctx)
		return err
	}), log); err != nil {
		log.Error("worker not started", slog.String("error", err.Error()))
		return nil, err
	}
	if allow.Empty() {
		log.Warn("no input-bucket allow-list: events of every valid bucket name are handled (set --input-buckets)")
	} else {
		log.Info("input-bucket allow-list", slog.Any("buckets", allow.Names()))
	}
	unregister, err := registerLeasesHeld(cfg.Registerer, func() float64 { return float64(cp.Held()) })
	if err != nil {
		return nil, err
	}
	// rawRecords*: the KCL must not de-aggregate records (see rawrecords.go). observed*: what
	// the KCL achieves is recorded for Health (see progress.go).
	prog := newProgress(cfg.WorkerID, cp, time.Now)
	w := kclworker.NewWorker(rawRecordsFactory{procs}, kclConfig(cfg, log)).
		WithKinesis(cachedShardList(observedKinesis(rawRecordsClient(cfg.Kinesis), prog), topo)).
		WithCheckpointer(observedCheckpointer{Checkpointer: cp, p: prog})
	return &assembled{kcl: w, procs: procs, prog: prog, unregister: unregister}, nil
}

// shutdown stops the KCL worker within StopTimeout: in-flight records get two thirds of it to
// finish, then are abandoned (cancelProc); handler calls that ignore their context get what is
// left before the worker exits without them.
func (w *assembled) shutdown(cfg Config, log *slog.Logger, cancelProc context.CancelFunc) error {
	w.procs.Stopping()
	cfg.Health.stop()
	stopping := time.Now()
	log.Info("shutting down", slog.Duration("stop_timeout", cfg.StopTimeout))
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.kcl.Shutdown()
	}()
	drain := time.NewTimer(cfg.StopTimeout * 2 / 3)
	defer drain.Stop()
	stopBy := time.Now().Add(cfg.StopTimeout)
	deadline := time.NewTimer(cfg.StopTimeout)
	defer deadline.Stop()
	for {
		select {
		case <-done:
			waitCtx, cancel := context.WithDeadline(context.Background(), stopBy)
			running := w.procs.WaitHandlers(waitCtx)
			cancel()
			if running > 0 {
				log.Warn("exiting with handler calls still running past their deadline", slog.Int("handlers", running))
			}
			log.Info("worker stopped cleanly", slog.Duration("took", time.Since(stopping).Round(time.Millisecond)))
			return nil
		case <-drain.C:
			log.Warn("drain period over: abandoning in-flight records")
			cancelProc()
		case <-deadline.C:
			return fmt.Errorf("worker did not stop within %s", cfg.StopTimeout)
		}
	}
}

func kclConfig(cfg Config, log *slog.Logger) *kclcfg.KinesisClientLibConfiguration {
	ms := func(d time.Duration) int { return int(d / time.Millisecond) }
	// Always TRIM_HORIZON: a shard without a checkpoint is new (or a child after a reshard),
	// and starting it anywhere later would skip records.
	pos := kclcfg.TRIM_HORIZON
	kc := kclcfg.NewKinesisClientLibConfig(cfg.LeaseTable, cfg.StreamName, cfg.Region, cfg.WorkerID).
		WithTableName(cfg.LeaseTable).
		WithInitialPositionInStream(pos).
		WithFailoverTimeMillis(ms(cfg.LeaseDuration)).
		WithLeaseRefreshWaitTime(ms(cfg.LeaseDuration / 4)).
		// One event-loop pass (list shards, take at most one lease, rebalance) every
		// LeasePassInterval; the shard list itself is refreshed every ShardSyncInterval.
		WithShardSyncIntervalMillis(ms(cfg.LeasePassInterval)).
		WithIdleTimeBetweenReadsInMillis(ms(cfg.IdleBetweenReads)).
		WithMaxRecords(cfg.MaxRecords).
		WithLeaseStealing(!cfg.DisableLeaseStealing).
		WithLeaseStealingIntervalMillis(ms(cfg.ShardSyncInterval)).
		WithLeaseSyncingIntervalMillis(ms(cfg.ShardSyncInterval)).
		WithLogger(kclLogger{l: log})
	kc.ParentShardPollIntervalMillis = ms(cfg.ShardSyncInterval / 2)
	kc.LeaseStealingClaimTimeoutMillis = ms(3 * cfg.LeaseDuration)
	return kc
}
