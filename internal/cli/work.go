package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/shardline/shardline/internal/bucket"
	"github.com/shardline/shardline/internal/grayscale"
	"github.com/shardline/shardline/internal/telemetry"
	"github.com/shardline/shardline/processor"
)

// workOptions are the flags of work, and the allow-list check parses.
type workOptions struct {
	workerID, outputBucket, outputPrefix, metricsAddr, inputBuckets string
	maxPixels, pixelBudget, memBudget, maxBytes                     int64
	jpegQuality, maxRecords, maxAttempts, keyConc, maxTimeouts      int
	leaseDur, shardSync, leasePass, idle, readEvery, stopTimeout    time.Duration
	handlerTO                                                       time.Duration
	notReady, notLive, tombstoneTTL, deadTTL                        time.Duration
	noStealing, uncond                                              bool

	allow bucket.AllowList
}

func workFlags(fs *flag.FlagSet) Action {
	o := &workOptions{}
	o.registerHandler(fs)
	o.registerWorker(fs)
	return Action{Check: o.check, Run: o.run}
}

// registerHandler registers the flags of the grayscale handler and of the worker's identity.
func (o *workOptions) registerHandler(fs *flag.FlagSet) {
	fs.StringVar(&o.workerID, "worker-id", "", "unique worker name in the lease table (default: hostname-pid-random)")
	fs.StringVar(&o.outputBucket, "output-bucket", "", "bucket for grayscale copies (required)")
	fs.StringVar(&o.outputPrefix, "output-prefix", "", "key prefix for grayscale copies")
	fs.StringVar(&o.metricsAddr, "metrics-addr", ":9102", "address for /metrics, /healthz and /readyz (empty: off)")
	fs.Int64Var(&o.maxPixels, "max-pixels", grayscale.DefaultMaxPixels, "largest image (width×height) decoded")
	fs.Int64Var(&o.memBudget, "memory-budget", 0, "bytes all conversions of this worker hold at once, each costed by format and path before its body is read (0: half the Go memory limit, or 4 × --max-pixels × 4 B without one)")
	fs.Int64Var(&o.pixelBudget, "pixel-budget", 0, "older form of --memory-budget in pixels (× 4 bytes); ignored when --memory-budget is set")
	fs.Int64Var(&o.maxBytes, "max-object-bytes", grayscale.DefaultMaxBytes, "largest input object read")
	fs.IntVar(&o.jpegQuality, "jpeg-quality", 90, "JPEG quality of outputs (1-100); a JPEG input already coarser keeps its own")
	fs.BoolVar(&o.uncond, "unconditional-writes", false, "write and delete outputs without If-Match/If-None-Match (only for stores that mishandle them)")
}

// registerWorker registers the flags of leases, reading, retries, health and expiry.
func (o *workOptions) registerWorker(fs *flag.FlagSet) {
	fs.DurationVar(&o.leaseDur, "lease-duration", 10*time.Second, "KCL failover time: an unrenewed lease can be taken after this")
	fs.DurationVar(&o.shardSync, "shard-sync-interval", 5*time.Second, "how often to list the stream's shards")
	fs.DurationVar(&o.leasePass, "lease-pass-interval", 250*time.Millisecond, "how often to scan the lease table (one Scan) and take free, released or expired leases, up to a fair share, parents before children (at most --shard-sync-interval)")
	fs.DurationVar(&o.idle, "idle-between-reads", 200*time.Millisecond, "pause after an empty GetRecords (Kinesis allows 5 reads per second per shard)")
	fs.DurationVar(&o.readEvery, "read-interval", processor.DefaultReadInterval, "a busy shard that is caught up is read at most once per interval (a full batch, or a shard further behind, is read again at once); a hot object's events coalesce per read (negative: read again at once)")
	fs.DurationVar(&o.stopTimeout, "stop-timeout", 30*time.Second, "graceful shutdown bound after SIGTERM (match the ECS stopTimeout)")
	fs.IntVar(&o.maxRecords, "max-records", 1000, "records per GetRecords call (max 10000)")
	fs.IntVar(&o.keyConc, "key-concurrency", processor.DefaultKeyConcurrency(), "objects of one shard's batch processed at once (each object stays serial)")
	fs.IntVar(&o.maxAttempts, "max-attempts", 8, "attempts for a transient failure before the record is dead-lettered")
	fs.BoolVar(&o.noStealing, "no-lease-stealing", false, "do not rebalance leases between workers")
	fs.StringVar(&o.inputBuckets, "input-buckets", "", "comma-separated allow-list of input buckets; events of other buckets are dead-lettered unread (foreign_bucket). Empty: every valid bucket name (invalid names and ARNs are always refused)")
	fs.DurationVar(&o.handlerTO, "handler-timeout", processor.DefaultHandlerTimeout, "deadline of one handler call; a call past it is retried, then dead-lettered (timeout)")
	fs.IntVar(&o.maxTimeouts, "max-handler-timeouts", 2, "handler calls of one record that may time out before it is dead-lettered as timeout")
	fs.DurationVar(&o.notReady, "not-ready-after", 0, "/readyz answers 503 after this long without a successful shard sync or lease-table call (0: 2 × --shard-sync-interval)")
	fs.DurationVar(&o.notLive, "not-live-after", 0, "/healthz answers 503 (stuck: replace the task) after this long without a successful shard sync or lease-table call (0: 12 × --shard-sync-interval)")
	fs.DurationVar(&o.tombstoneTTL, "ledger-tombstone-ttl", 216*time.Hour, "ledger entries of deleted objects expire (DynamoDB TTL, attribute expires_at) this long after the delete; keep it above stream retention + 24h notification delay + a margin (0: never)")
	fs.DurationVar(&o.deadTTL, "dead-letter-ttl", 720*time.Hour, "dead letters expire (DynamoDB TTL, attribute expires_at) this long after they were written (0: never)")
}

func (o *workOptions) check() error {
	if o.outputBucket == "" {
		return fmt.Errorf("--output-bucket (or %s) is required", EnvName("output-bucket"))
	}
	var err error
	if o.allow, err = bucket.ParseAllowList(o.inputBuckets); err != nil {
		return fmt.Errorf("--input-buckets: %v", err)
	}
	if o.handlerTO <= 0 || o.maxTimeouts <= 0 {
		return errors.New("--handler-timeout and --max-handler-timeouts must be positive")
	}
	if o.workerID == "" {
		o.workerID = defaultWorkerID()
	}
	return nil
}

func (o *workOptions) run(ctx context.Context, s *Session) error {
	reg := telemetry.NewRegistry()
	handler, err := grayscale.New(grayscale.Config{
		Store: s.Clients.S3, OutputBucket: o.outputBucket, OutputPrefix: o.outputPrefix,
		MaxPixels: o.maxPixels, PixelBudget: o.pixelBudget, MemoryBudget: o.memBudget, MaxBytes: o.maxBytes, JPEGQuality: o.jpegQuality,
		UnconditionalWrites: o.uncond, Registerer: reg, Logger: s.Log,
	})
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	health := &processor.Health{}
	cfg := o.workerConfig(s, handler, reg, health)
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return serveWorker(ctx, o.metricsAddr, cfg, telemetry.Mux(reg, health), s.Log)
}

func (o *workOptions) workerConfig(s *Session, handler *grayscale.Converter, reg *prometheus.Registry, health *processor.Health) processor.Config {
	return processor.Config{
		Kinesis: s.Clients.Kinesis, DynamoDB: s.Clients.DynamoDB, Handler: handler,
		Region: s.Clients.Config.Region, StreamName: s.Stream, LeaseTable: s.LeaseTable,
		LedgerTable: s.LedgerTable, DeadLetterTable: s.DeadLetterTable, WorkerID: o.workerID,
		LeaseDuration: o.leaseDur, ShardSyncInterval: o.shardSync, LeasePassInterval: o.leasePass, IdleBetweenReads: o.idle, ReadInterval: o.readEvery,
		MaxRecords: o.maxRecords, StopTimeout: o.stopTimeout,
		DisableLeaseStealing: o.noStealing, Retry: processor.Retry{MaxAttempts: o.maxAttempts}, KeyConcurrency: o.keyConc,
		InputBuckets: o.allow.Names(), HandlerTimeout: o.handlerTO, MaxTimeouts: o.maxTimeouts,
		NotReadyAfter: o.notReady, NotLiveAfter: o.notLive, Health: health,
		LedgerTombstoneTTL: o.tombstoneTTL, DeadLetterTTL: o.deadTTL,
		Registerer: reg, Logger: s.Log,
	}
}

// serveWorker runs the worker until ctx ends, and serves metrics on metricsAddr (unless empty)
// until it has drained, so that the last values can be scraped. The listener is bound before
// the worker starts: a port clash is a start-up error, not a worker that starts and then stops.
func serveWorker(ctx context.Context, metricsAddr string, cfg processor.Config, mux *http.ServeMux, log *slog.Logger) error {
	var ln net.Listener
	if metricsAddr != "" {
		var err error
		if ln, err = net.Listen("tcp", metricsAddr); err != nil {
			return fmt.Errorf("metrics listener (--metrics-addr): %w", err)
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	serveCtx, stopServing := context.WithCancel(context.WithoutCancel(ctx))
	defer stopServing()
	if ln != nil {
		g.Go(func() error {
			if err := telemetry.ServeListener(serveCtx, ln, mux, log); err != nil {
				return fmt.Errorf("metrics server: %w", err)
			}
			return nil
		})
	}
	g.Go(func() error {
		defer stopServing()
		return processor.Run(gctx, cfg)
	})
	err := g.Wait()
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
