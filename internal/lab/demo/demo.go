// Package demo runs shardline end to end on the local stack: MinIO sends real notifications to
// the forwarder, two worker processes convert the real photos of Debian's mate-backgrounds
// package, and the demo deletes, re-uploads, uploads bad files and resends notifications, then
// checks every output against its input's final state.
package demo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"golang.org/x/sync/errgroup"

	"github.com/shardline/shardline/checkpoint"
	"github.com/shardline/shardline/internal/awsclients"
	"github.com/shardline/shardline/internal/lab/hookproxy"
	"github.com/shardline/shardline/internal/lab/proc"
	"github.com/shardline/shardline/internal/lab/quiesce"
	"github.com/shardline/shardline/internal/lab/scrape"
	"github.com/shardline/shardline/internal/setup"
	"github.com/shardline/shardline/internal/telemetry"
)

// Config configures a demo run.
type Config struct {
	Binary    string // the shardline executable to start as forwarder and workers
	PhotosDir string // directory of JPEG/PNG photos, default /usr/share/backgrounds/mate
	// Webhook is where MinIO posts notifications (default 127.0.0.1:8085) and its queue ARN.
	hookproxy.Webhook
	// WebhookToken is the token MinIO's webhook target sends (stack.sh env exports it as
	// SHARDLINE_WEBHOOK_TOKEN); the proxy refuses MinIO requests without it. Empty: MinIO's
	// requests are not checked. The forwarder always requires a token: one the demo makes.
	WebhookToken string
	Workers      int           // worker processes, default 2
	LogDir       string        // subprocess logs, default .local/log
	Timeout      time.Duration // bound on waiting for catch-up, default 5m
	Out          io.Writer     // the report
	Logger       *slog.Logger
}

func (c *Config) defaults() {
	if c.PhotosDir == "" {
		c.PhotosDir = "/usr/share/backgrounds/mate"
	}
	c.Webhook.Defaults()
	if c.Workers == 0 {
		c.Workers = 2
	}
	if c.LogDir == "" {
		c.LogDir = ".local/log"
	}
	if c.Timeout == 0 {
		c.Timeout = 5 * time.Minute
	}
}

// names of this run's resources.
type names struct {
	stream, leases, ledger, deadLetters, input, output string
}

func newNames() names {
	s := time.Now().UTC().Format("20060102-150405")
	return names{
		stream: "demo-" + s, leases: "demo-" + s + "-leases", ledger: "demo-" + s + "-ledger",
		deadLetters: "demo-" + s + "-dead-letters", input: "demo-in-" + s, output: "demo-out-" + s,
	}
}

// Run runs the demo and returns an error unless every output matches its input's final state.
//
// Its phases: create the resources, start the forwarder and the workers, start the capture proxy
// MinIO posts to, run the scenario on S3, resend some notifications, wait for catch-up, and
// verify and report.
func Run(ctx context.Context, clients awsclients.Clients, cfg Config) error {
	cfg.defaults()
	if err := os.MkdirAll(cfg.LogDir, 0o755); err != nil {
		return err
	}
	photos, err := findPhotos(cfg.PhotosDir)
	if err != nil {
		return err
	}
	n := newNames()
	fmt.Fprintf(cfg.Out, "shardline-lab demo: %d photos from %s, stream %s (2 shards), %d workers\n", len(photos), cfg.PhotosDir, n.stream, cfg.Workers)
	err = setup.Run(ctx, setup.Clients{S3: clients.S3, Kinesis: clients.Kinesis, DynamoDB: clients.DynamoDB}, setup.Config{
		StreamName: n.stream, Shards: 2, LeaseTable: n.leases, LedgerTable: n.ledger, DeadLetterTable: n.deadLetters,
		InputBucket: n.input, OutputBucket: n.output, NotifyQueueARN: cfg.NotifyARN,
	}, cfg.Logger)
	if err != nil {
		return err
	}
	ps := &processes{}
	defer ps.stop(cfg.Logger)
	if err := ps.start(ctx, cfg, n); err != nil {
		return err
	}
	px := &proxy{target: ps.webhook, token: ps.token, minioToken: cfg.WebhookToken, bucket: n.input}
	stopProxy, err := serveProxy(ctx, cfg.WebhookAddr, px)
	if err != nil {
		return err
	}
	defer stopProxy()

	sc := scenario{s3: clients.S3, bucket: n.input, photos: photos, out: cfg.Out}
	started := time.Now()
	if err := sc.run(ctx); err != nil {
		return err
	}
	fmt.Fprintf(cfg.Out, "  %d operations on S3 in %s; waiting for MinIO's notifications\n", sc.ops, time.Since(started).Round(time.Millisecond))
	received, err := deliver(ctx, cfg, px, &sc, ps)
	if err != nil {
		return err
	}
	fwdStats, wkStats, err := catchUp(ctx, clients, cfg, n, ps, received)
	if err != nil {
		return err
	}
	caughtUp := time.Since(started)

	v, err := verify(ctx, clients, n, sc.bad)
	if err != nil {
		return err
	}
	report(cfg.Out, received, fwdStats, wkStats, v, caughtUp, cfg.LogDir)
	if !v.ok() {
		return errors.New("outputs do not match inputs (see the table above)")
	}
	return nil
}

// processes are the demo's forwarder and workers.
type processes struct {
	procs         []*proc.Process
	fwdAddr       string
	webhook       string // the forwarder's webhook URL
	token         string // the forwarder's webhook token, made by the demo
	workerMetrics []string
}

// start starts the forwarder and cfg.Workers workers on n's resources and waits until each is
// ready.
func (ps *processes) start(ctx context.Context, cfg Config, n names) error {
	fwdAddr, err := proc.FreeAddr()
	if err != nil {
		return err
	}
	ps.fwdAddr, ps.webhook = fwdAddr, "http://"+fwdAddr+"/webhook"
	base := []string{"--stream", n.stream, "--log-format", "json", "--s3-path-style"}
	tables := append([]string{"--lease-table", n.leases, "--ledger-table", n.ledger, "--dead-letter-table", n.deadLetters}, base...)
	if ps.token, err = proc.NewToken(); err != nil {
		return err
	}
	fwd, err := proc.StartEnv(cfg.Binary, cfg.LogDir, "demo-", "forwarder", []string{"SHARDLINE_WEBHOOK_TOKEN=" + ps.token},
		append([]string{"forward", "--listen", fwdAddr, "--input-buckets", n.input}, base...)...)
	if err != nil {
		return err
	}
	ps.procs = append(ps.procs, fwd)
	if err := fwd.WaitReady(ctx, "http://"+fwdAddr+"/readyz", 30*time.Second); err != nil {
		return err
	}
	for i := 1; i <= cfg.Workers; i++ {
		addr, err := proc.FreeAddr()
		if err != nil {
			return err
		}
		name := fmt.Sprintf("worker-%d", i)
		w, err := proc.Start(cfg.Binary, cfg.LogDir, "demo-", name, append([]string{"work", "--worker-id", "demo-" + name,
			"--metrics-addr", addr, "--output-bucket", n.output, "--lease-duration", "6s",
			"--shard-sync-interval", "1s", "--idle-between-reads", "200ms", "--stop-timeout", "20s"}, tables...)...)
		if err != nil {
			return err
		}
		ps.procs = append(ps.procs, w)
		if err := w.WaitReady(ctx, "http://"+addr+"/readyz", 30*time.Second); err != nil {
			return err
		}
		ps.workerMetrics = append(ps.workerMetrics, "http://"+addr+"/metrics")
	}
	return nil
}

// stop stops every started process gracefully, in the order they started.
func (ps *processes) stop(log *slog.Logger) {
	for _, p := range ps.procs {
		if err := p.Stop(40 * time.Second); err != nil {
			log.Warn("stop", slog.String("error", err.Error()))
		}
	}
}

// serveProxy serves px on addr, where MinIO posts; stop ends it and waits.
func serveProxy(ctx context.Context, addr string, px *proxy) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("webhook address %s (is another demo or forwarder running?): %w", addr, err)
	}
	proxyCtx, stopProxy := context.WithCancel(ctx)
	var g errgroup.Group
	// The proxy answers MinIO only after the forwarder did, which may retry PutRecords for its
	// whole put deadline.
	g.Go(func() error {
		return telemetry.ServerConfig{WriteTimeout: 2 * time.Minute}.ServeListener(proxyCtx, ln, px, slog.New(slog.DiscardHandler))
	})
	return func() {
		stopProxy()
		_ = g.Wait()
	}, nil
}

// deliver waits until MinIO has delivered a notification for every operation of sc, then resends
// captured notifications (exact duplicates, and one older than its successor). It returns how
// many notifications the forwarder received in all.
func deliver(ctx context.Context, cfg Config, px *proxy, sc *scenario, ps *processes) (int, error) {
	if err := quiesce.Poll(ctx, cfg.Timeout, 250*time.Millisecond, func() (bool, error) {
		_, events := px.snapshot()
		return events >= sc.ops, nil
	}); err != nil {
		_, events := px.snapshot()
		return 0, fmt.Errorf("only %d of %d notifications arrived: %w", events, sc.ops, err)
	}
	bodies, _ := px.snapshot()
	resent, err := sc.resend(ctx, ps.webhook, ps.token, bodies)
	if err != nil {
		return 0, err
	}
	_, received := px.snapshot()
	return received + resent, nil
}

// catchUp waits until everything received is forwarded and every shard's checkpoint has reached
// its last record (counting finished records is not enough: a record replayed after a lease
// moved between the two workers is counted twice), then reads the forwarder's and the workers'
// metrics.
func catchUp(ctx context.Context, clients awsclients.Clients, cfg Config, n names, ps *processes, received int) (fwd, workers scrape.Metrics, err error) {
	leases, err := checkpoint.New(checkpoint.Config{Client: clients.DynamoDB, TableName: n.leases, WorkerID: "demo-inspector"})
	if err != nil {
		return nil, nil, err
	}
	fwdMetrics := "http://" + ps.fwdAddr + "/metrics"
	end := quiesce.NewTracker(clients.Kinesis, n.stream)
	var behind string
	if err := quiesce.Poll(ctx, cfg.Timeout, 250*time.Millisecond, func() (bool, error) {
		f, err := scrape.Get(ctx, fwdMetrics)
		if err != nil || f.Sum("shardline_forwarder_records_forwarded_total") < float64(received) {
			behind = "forwarder"
			return false, nil
		}
		ok, why, err := end.CaughtUp(ctx, leases)
		if err != nil {
			why = err.Error()
		}
		behind = why
		return ok, nil
	}); err != nil {
		return nil, nil, fmt.Errorf("workers did not catch up (%s): %w", behind, err)
	}
	if fwd, err = scrape.Get(ctx, fwdMetrics); err != nil {
		return nil, nil, err
	}
	workers = scrape.Metrics{}
	for _, u := range ps.workerMetrics {
		m, err := scrape.Get(ctx, u)
		if err != nil {
			return nil, nil, err
		}
		scrape.Merge(workers, m)
	}
	return fwd, workers, nil
}

func findPhotos(dir string) ([]string, error) {
	var photos []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch strings.ToLower(filepath.Ext(path)) {
		case ".jpg", ".jpeg", ".png":
			photos = append(photos, path)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("photos in %s (install Debian's mate-backgrounds): %w", dir, err)
	}
	if len(photos) < 8 {
		return nil, fmt.Errorf("only %d photos in %s: install Debian's mate-backgrounds", len(photos), dir)
	}
	sort.Strings(photos)
	return photos, nil
}

func putObject(ctx context.Context, c *s3.Client, bucket, key string, data []byte, contentType string) error {
	_, err := c.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(data),
		ContentLength: aws.Int64(int64(len(data))), ContentType: aws.String(contentType),
	})
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	return nil
}
