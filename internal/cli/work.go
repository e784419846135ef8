package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/shardline/shardline/internal/bucket"
	"github.com/shardline/shardline/internal/grayscale"
	"github.com/shardline/shardline/internal/telemetry"
	"github.com/shardline/shardline/internal/worker"
	"github.com/shardline/shardline/processor"
)

func runWork(ctx context.Context, env *Env, args []string) error {
	fs := flag.NewFlagSet("work", flag.ContinueOnError)
	var (
		c            common
		workerID     string
		outputBucket string
		outputPrefix string
		metricsAddr  string
		maxPixels    int64
		pixelBudget  int64
		memBudget    int64
		maxBytes     int64
		jpegQuality  int
		leaseDur     time.Duration
		shardSync    time.Duration
		leasePass    time.Duration
		idle         time.Duration
		stopTimeout  time.Duration
		maxRecords   int
		maxAttempts  int
		keyConc      int
		noStealing   bool
		uncond       bool
		inputBuckets string
		handlerTO    time.Duration
		maxTimeouts  int
		notReady     time.Duration
		notLive      time.Duration
		tombstoneTTL time.Duration
		deadTTL      time.Duration
	)
	c.register(fs, streamFlag|tableFlags)
	fs.StringVar(&workerID, "worker-id", "", "unique worker name in the lease table (default: hostname-pid-random)")
	fs.StringVar(&outputBucket, "output-bucket", "", "bucket for grayscale copies (required)")
	fs.StringVar(&outputPrefix, "output-prefix", "", "key prefix for grayscale copies")
	fs.StringVar(&metricsAddr, "metrics-addr", ":9102", "address for /metrics, /healthz and /readyz (empty: off)")
	fs.Int64Var(&maxPixels, "max-pixels", grayscale.DefaultMaxPixels, "largest image (width×height) decoded")
	fs.Int64Var(&memBudget, "memory-budget", 0, "bytes all conversions of this worker hold at once, each costed by format and path before its body is read (0: half the Go memory limit, or 4 × --max-pixels × 4 B without one)")
	fs.Int64Var(&pixelBudget, "pixel-budget", 0, "older form of --memory-budget in pixels (× 4 bytes); ignored when --memory-budget is set")
	fs.Int64Var(&maxBytes, "max-object-bytes", grayscale.DefaultMaxBytes, "largest input object read")
	fs.IntVar(&jpegQuality, "jpeg-quality", 90, "JPEG quality of outputs (1-100); a JPEG input already coarser keeps its own")
	durationFlag(fs, &leaseDur, "lease-duration", 10*time.Second, "KCL failover time: an unrenewed lease can be taken after this")
	durationFlag(fs, &shardSync, "shard-sync-interval", 5*time.Second, "how often to list the stream's shards")
	durationFlag(fs, &leasePass, "lease-pass-interval", 250*time.Millisecond, "how often to scan the lease table (one Scan) and take free, released or expired leases, up to a fair share, parents before children (at most --shard-sync-interval)")
	durationFlag(fs, &idle, "idle-between-reads", 500*time.Millisecond, "pause after an empty GetRecords")
	durationFlag(fs, &stopTimeout, "stop-timeout", 30*time.Second, "graceful shutdown bound after SIGTERM (match the ECS stopTimeout)")
	fs.IntVar(&maxRecords, "max-records", 1000, "records per GetRecords call (max 10000)")
	fs.IntVar(&keyConc, "key-concurrency", processor.DefaultKeyConcurrency(), "objects of one shard's batch processed at once (each object stays serial)")
	fs.IntVar(&maxAttempts, "max-attempts", 8, "attempts for a transient failure before the record is dead-lettered")
	fs.BoolVar(&noStealing, "no-lease-stealing", false, "do not rebalance leases between workers")
	fs.BoolVar(&uncond, "unconditional-writes", false, "write and delete outputs without If-Match/If-None-Match (only for stores that mishandle them)")
	fs.StringVar(&inputBuckets, "input-buckets", "", "comma-separated allow-list of input buckets; events of other buckets are dead-lettered unread (foreign_bucket). Empty: every valid bucket name (invalid names and ARNs are always refused)")
	durationFlag(fs, &handlerTO, "handler-timeout", processor.DefaultHandlerTimeout, "deadline of one handler call; a call past it is retried, then dead-lettered (timeout)")
	fs.IntVar(&maxTimeouts, "max-handler-timeouts", 2, "handler calls of one record that may time out before it is dead-lettered as timeout")
	durationFlag(fs, &notReady, "not-ready-after", 0, "/readyz answers 503 after this long without a successful shard sync or lease-table call (0: 2 × --shard-sync-interval)")
	durationFlag(fs, &notLive, "not-live-after", 0, "/healthz answers 503 (stuck: replace the task) after this long without a successful shard sync or lease-table call (0: 12 × --shard-sync-interval)")
	durationFlag(fs, &tombstoneTTL, "ledger-tombstone-ttl", 216*time.Hour, "ledger entries of deleted objects expire (DynamoDB TTL, attribute expires_at) this long after the delete; keep it above stream retention + 24h notification delay + a margin (0: never)")
	durationFlag(fs, &deadTTL, "dead-letter-ttl", 720*time.Hour, "dead letters expire (DynamoDB TTL, attribute expires_at) this long after they were written (0: never)")
	if err := parse(fs, args, env); err != nil {
		return err
	}
	if outputBucket == "" {
		return fmt.Errorf("%w: --output-bucket (or %s) is required", errUsage, EnvName("output-bucket"))
	}
	allow, err := bucket.ParseAllowList(inputBuckets)
	if err != nil {
		return fmt.Errorf("%w: --input-buckets: %v", errUsage, err)
	}
	if handlerTO <= 0 || maxTimeouts <= 0 {
		return fmt.Errorf("%w: --handler-timeout and --max-handler-timeouts must be positive", errUsage)
	}
	log, err := c.logger(env.Stderr)
	if err != nil {
		return err
	}
	if workerID == "" {
		workerID = defaultWorkerID()
	}
	clients, err := c.clients(ctx)
	if err != nil {
		return err
	}
	reg := telemetry.NewRegistry()
	handler, err := grayscale.New(grayscale.Config{
		Store: clients.S3, OutputBucket: outputBucket, OutputPrefix: outputPrefix,
		MaxPixels: maxPixels, PixelBudget: pixelBudget, MemoryBudget: memBudget, MaxBytes: maxBytes, JPEGQuality: jpegQuality,
		UnconditionalWrites: uncond, Registerer: reg, Logger: log,
	})
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	health := &worker.Health{}
	cfg := worker.Config{
		Kinesis: clients.Kinesis, DynamoDB: clients.DynamoDB, Handler: handler,
		Region: clients.Config.Region, StreamName: c.stream, LeaseTable: c.leaseTable,
		LedgerTable: c.ledgerTable, DeadLetterTable: c.deadLetterTable, WorkerID: workerID,
		LeaseDuration: leaseDur, ShardSyncInterval: shardSync, LeasePassInterval: leasePass, IdleBetweenReads: idle,
		MaxRecords: maxRecords, StopTimeout: stopTimeout,
		DisableLeaseStealing: noStealing, Retry: processor.Retry{MaxAttempts: maxAttempts}, KeyConcurrency: keyConc,
		InputBuckets: allow, HandlerTimeout: handlerTO, MaxTimeouts: maxTimeouts,
		NotReadyAfter: notReady, NotLiveAfter: notLive, Health: health,
		LedgerTombstoneTTL: tombstoneTTL, DeadLetterTTL: deadTTL,
		Registerer: reg, Logger: log,
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	// The metrics listener is bound before the worker starts: a port clash is a start-up error,
	// not a worker that starts and then stops.
	var ln net.Listener
	if metricsAddr != "" {
		if ln, err = net.Listen("tcp", metricsAddr); err != nil {
			return fmt.Errorf("metrics listener (--metrics-addr): %w", err)
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	serveCtx, stopServing := context.WithCancel(context.WithoutCancel(ctx))
	defer stopServing()
	if ln != nil {
		g.Go(func() error {
			// Metrics stay up until the worker has drained, so the last values can be scraped.
			if err := telemetry.ServeListener(serveCtx, ln, telemetry.Mux(reg, health), log); err != nil {
				return fmt.Errorf("metrics server: %w", err)
			}
			return nil
		})
	}
	g.Go(func() error {
		defer stopServing()
		return worker.Run(gctx, cfg)
	})
	err = g.Wait()
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

func defaultWorkerID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "worker"
	}
	var b [3]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}
