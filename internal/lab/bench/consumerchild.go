package bench

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	kclcfg "github.com/vmware/vmware-go-kcl-v2/clientlibrary/config"
	kcl "github.com/vmware/vmware-go-kcl-v2/clientlibrary/interfaces"
	kclworker "github.com/vmware/vmware-go-kcl-v2/clientlibrary/worker"
	kcllogger "github.com/vmware/vmware-go-kcl-v2/logger"

	"github.com/shardline/shardline/internal/awsclients"
	"github.com/shardline/shardline/internal/lab/quiesce"
	"github.com/shardline/shardline/processor"
)

// Consumer child commands: as the bench binary's first argument they make it run one stream
// consumer in a process of its own, so that the process's CPU time belongs to that consumer
// alone (the shard-limit section). They are not user-facing commands.
const (
	// WorkerChildCommand runs shardline's worker (processor.Run, as `shardline work` runs
	// it) with a no-op handler.
	WorkerChildCommand = "worker-child"
	// KCLChildCommand runs the bare vmware-go-kcl-v2 worker with its own defaults, its default
	// DynamoDB checkpointer and a record processor that only counts and checkpoints each batch.
	KCLChildCommand = "kcl-child"
)

// progressFD is the file descriptor a consumer child writes its progress lines to (the parent
// passes a pipe as cmd.ExtraFiles[0]); stdout and stderr stay free for the libraries' logs.
const progressFD = 3

// childProgress is one line a consumer child writes: how many records it has finished and how
// many shards it processes; the last line (Final) also has the record ages at processing.
type childProgress struct {
	At        int64 `json:"at"` // Unix nanoseconds
	Processed int64 `json:"processed"`
	Shards    int   `json:"shards"`
	Final     bool  `json:"final,omitempty"`
	// Ages at processing (ForwardedAt → handler call), worker child only.
	AgeP50 time.Duration `json:"ageP50,omitempty"`
	AgeP99 time.Duration `json:"ageP99,omitempty"`
	AgeMax time.Duration `json:"ageMax,omitempty"`
	Ages   int           `json:"ages,omitempty"`
}

// RunConsumerChild runs the consumer named by command (WorkerChildCommand or KCLChildCommand)
// on a stream until ctx ends (SIGTERM), writing a progress line to file descriptor 3 every
// 100 ms and a final one after it stopped. The AWS endpoints come from the environment
// (AWS_ENDPOINT_URL_<SERVICE>), as for every shardline process.
func RunConsumerChild(ctx context.Context, command string, args []string) error {
	fs := flag.NewFlagSet(command, flag.ContinueOnError)
	var stream, leases, ledgerTable, deadLetters, region, logFile string
	fs.StringVar(&stream, "stream", "", "stream name")
	fs.StringVar(&leases, "leases", "", "lease table (the KCL's application name for kcl-child)")
	fs.StringVar(&ledgerTable, "ledger", "", "ledger table (worker-child)")
	fs.StringVar(&deadLetters, "dead-letters", "", "dead-letter table (worker-child)")
	fs.StringVar(&region, "region", "", "AWS region (default: AWS_REGION)")
	fs.StringVar(&logFile, "log-file", "", "append the consumer's logs here (empty: discard)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if stream == "" || leases == "" {
		return errors.New("-stream and -leases are required")
	}
	out := os.NewFile(progressFD, "progress")
	if out == nil {
		return errors.New("no progress pipe on file descriptor 3")
	}
	defer out.Close()
	var logs io.Writer = io.Discard
	if logFile != "" {
		f, err := os.OpenFile(logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		logs = f
	}
	log := slog.New(slog.NewJSONHandler(logs, nil)).With(slog.String("consumer", command), slog.String("stream", stream))
	if path := os.Getenv("SHARDLINE_BENCH_CPUPROFILE"); path != "" {
		// A CPU profile of this consumer, for finding what its per-record path costs.
		f, err := os.Create(path + "." + command)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	clients, err := awsclients.Load(ctx, awsclients.Options{Region: region})
	if err != nil {
		return err
	}
	var c consumerStats
	report := func(final bool) error {
		p := childProgress{At: time.Now().UnixNano(), Processed: c.processed.Load(), Shards: int(c.shards.Load()), Final: final}
		if final {
			p.AgeP50, p.AgeP99, p.AgeMax, p.Ages = c.agePercentiles()
		}
		b, _ := json.Marshal(p)
		_, err := out.Write(append(b, '\n'))
		return err
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	wg.Go(func() {
		if quiesce.Every(runCtx, 100*time.Millisecond, func() error { return report(false) }) != nil {
			stop() // the parent is gone
		}
	})
	switch command {
	case WorkerChildCommand:
		err = runWorkerChild(runCtx, clients, &c, stream, leases, ledgerTable, deadLetters, log)
	case KCLChildCommand:
		err = runKCLChild(runCtx, clients.Config.Region, &c, stream, leases, log)
	default:
		err = fmt.Errorf("unknown consumer child %q", command)
	}
	stop()
	wg.Wait()
	if rerr := report(true); err == nil {
		err = rerr
	}
	return err
}

// consumerStats is what a consumer child counts.
type consumerStats struct {
	processed atomic.Int64
	shards    atomic.Int64
	mu        sync.Mutex
	ages      []time.Duration
}

func (c *consumerStats) age(d time.Duration) {
	c.mu.Lock()
	c.ages = append(c.ages, d)
	c.mu.Unlock()
}

func (c *consumerStats) agePercentiles() (p50, p99, maxAge time.Duration, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.ages) == 0 {
		return 0, 0, 0, 0
	}
	return percentile(c.ages, 0.5), percentile(c.ages, 0.99), slices.Max(c.ages), len(c.ages)
}

// runWorkerChild runs shardline's worker with a handler that does nothing but note each event's
// age (ForwardedAt → now). It uses the production defaults except a 1 s shard sync, as every
// worker of the bench does, so that it takes its leases within seconds.
func runWorkerChild(ctx context.Context, clients awsclients.Clients, c *consumerStats, stream, leases, ledgerTable, deadLetters string, log *slog.Logger) error {
	if ledgerTable == "" || deadLetters == "" {
		return errors.New("-ledger and -dead-letters are required for " + WorkerChildCommand)
	}
	reg := prometheus.NewRegistry()
	h := noopAgeHandler{c: c}
	done := make(chan error, 1)
	go func() {
		done <- processor.Run(ctx, processor.Config{
			Kinesis: clients.Kinesis, DynamoDB: clients.DynamoDB, Handler: h,
			Region: clients.Config.Region, StreamName: stream, LeaseTable: leases, LedgerTable: ledgerTable,
			DeadLetterTable: deadLetters, WorkerID: uniqueName("worker"),
			ShardSyncInterval: time.Second, StopTimeout: 15 * time.Second,
			Registerer: reg, Logger: log,
		})
	}()
	// Gathering the registry costs the worker's own CPU: often enough to see the leases taken,
	// rarely enough not to show in its CPU per event.
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case err := <-done:
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		case <-t.C:
			c.shards.Store(int64(gatherSum(reg, "shardline_worker_shards_processing")))
		}
	}
}

// noopAgeHandler is the worker child's handler.
type noopAgeHandler struct{ c *consumerStats }

func (h noopAgeHandler) Handle(_ context.Context, ev processor.Event) error {
	if !ev.ForwardedAt.IsZero() {
		h.c.age(time.Since(ev.ForwardedAt))
	}
	h.c.processed.Add(1)
	return nil
}

// runKCLChild runs the bare vmware-go-kcl-v2 worker: the library's default configuration (but
// from TRIM_HORIZON and with a 1 s shard sync, as the worker child), its own Kinesis client and
// DynamoDB checkpointer (the table named leases, which it creates), and a record processor
// that counts records and checkpoints the last one of each batch, as the library's examples do.
func runKCLChild(ctx context.Context, region string, c *consumerStats, stream, leases string, log *slog.Logger) error {
	cfg := kclcfg.NewKinesisClientLibConfig(leases, stream, region, uniqueName("kcl")).
		WithInitialPositionInStream(kclcfg.TRIM_HORIZON).
		WithShardSyncIntervalMillis(1000).
		WithLogger(slogKCL{log})
	if ep := os.Getenv("AWS_ENDPOINT_URL_KINESIS"); ep != "" {
		cfg = cfg.WithKinesisEndpoint(ep)
	}
	if ep := os.Getenv("AWS_ENDPOINT_URL_DYNAMODB"); ep != "" {
		cfg = cfg.WithDynamoDBEndpoint(ep)
	}
	w := kclworker.NewWorker(countingFactory{c: c}, cfg)
	if err := w.Start(); err != nil {
		return fmt.Errorf("start KCL worker: %w", err)
	}
	<-ctx.Done()
	w.Shutdown()
	return nil
}

type countingFactory struct{ c *consumerStats }

func (f countingFactory) CreateProcessor() kcl.IRecordProcessor { return &countingProcessor{c: f.c} }

// countingProcessor is the bare KCL's no-op record processor.
type countingProcessor struct{ c *consumerStats }

func (p *countingProcessor) Initialize(*kcl.InitializationInput) { p.c.shards.Add(1) }

func (p *countingProcessor) ProcessRecords(in *kcl.ProcessRecordsInput) {
	if len(in.Records) == 0 {
		return
	}
	_ = in.Checkpointer.Checkpoint(in.Records[len(in.Records)-1].SequenceNumber)
	p.c.processed.Add(int64(len(in.Records)))
}

func (p *countingProcessor) Shutdown(in *kcl.ShutdownInput) {
	p.c.shards.Add(-1)
	if in.ShutdownReason == kcl.TERMINATE {
		_ = in.Checkpointer.Checkpoint(nil)
	}
}

// slogKCL is the KCL's logger interface on slog.
type slogKCL struct{ l *slog.Logger }

func (k slogKCL) Debugf(format string, args ...any) {}
func (k slogKCL) Infof(format string, args ...any)  { k.l.Info(fmt.Sprintf(format, args...)) }
func (k slogKCL) Warnf(format string, args ...any)  { k.l.Warn(fmt.Sprintf(format, args...)) }
func (k slogKCL) Errorf(format string, args ...any) { k.l.Error(fmt.Sprintf(format, args...)) }
func (k slogKCL) Fatalf(format string, args ...any) { k.l.Error(fmt.Sprintf(format, args...)) }
func (k slogKCL) Panicf(format string, args ...any) { k.l.Error(fmt.Sprintf(format, args...)) }
func (k slogKCL) WithFields(f kcllogger.Fields) kcllogger.Logger {
	attrs := make([]any, 0, 2*len(f))
	for key, v := range f {
		attrs = append(attrs, key, v)
	}
	return slogKCL{k.l.With(attrs...)}
}
