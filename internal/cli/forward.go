package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/shardline/shardline/internal/bucket"
	"github.com/shardline/shardline/internal/forwarder"
	"github.com/shardline/shardline/internal/telemetry"
)

// errNoAuth is the refusal to start a webhook that would accept anyone's events.
var errNoAuth = errors.New("refusing to start without authentication: set --webhook-token (or SHARDLINE_WEBHOOK_TOKEN) to the secret MinIO/S3-compatible senders put in Authorization, or pass --insecure-no-auth to accept unauthenticated requests (local experiments only)")

func runForward(ctx context.Context, env *Env, args []string) error {
	fs := flag.NewFlagSet("forward", flag.ContinueOnError)
	var (
		c             common
		listen        string
		metricsListen string
		token         string
		insecure      bool
		inputBuckets  string
		snsTopics     string
		maxBody       int64
		maxConns      int
		deadline      time.Duration
		readTime      time.Duration
		headerTime    time.Duration
		idleTime      time.Duration
		notReady      time.Duration
	)
	c.register(fs, streamFlag)
	fs.StringVar(&listen, "listen", ":8085", "address of the webhook (POST /webhook, also POST /), /healthz, /readyz, and /metrics unless --metrics-listen is set")
	fs.StringVar(&metricsListen, "metrics-listen", "", "separate address for /metrics (and /healthz, /readyz); empty: /metrics is served on --listen")
	fs.StringVar(&token, "webhook-token", "", "shared secret the webhook requires in Authorization (Bearer or bare); required unless --insecure-no-auth")
	fs.BoolVar(&insecure, "insecure-no-auth", false, "accept webhook requests without a token (anyone who reaches --listen can forward events); SNS messages are still verified")
	fs.StringVar(&inputBuckets, "input-buckets", "", "comma-separated allow-list of input buckets; events for others are refused (foreign_bucket); empty: any valid bucket name")
	fs.StringVar(&snsTopics, "sns-topic-arns", "", "comma-separated SNS topic ARNs whose signed messages the webhook accepts; empty: SNS messages are rejected")
	fs.Int64Var(&maxBody, "max-body-bytes", forwarder.DefaultMaxBodyBytes, "largest webhook body accepted (413 above)")
	fs.IntVar(&maxConns, "max-connections", 512, "connections served at once per listener; more wait in the listen backlog")
	durationFlag(fs, &readTime, "body-read-timeout", time.Minute, "how long a client may take to send a webhook body (408 after)")
	durationFlag(fs, &headerTime, "read-header-timeout", telemetry.DefaultReadHeaderTimeout, "how long a client may take to send request headers")
	durationFlag(fs, &idleTime, "idle-timeout", telemetry.DefaultIdleTimeout, "how long an idle keep-alive connection stays open")
	durationFlag(fs, &deadline, "put-deadline", forwarder.DefaultDeadline, "how long one request may retry PutRecords before answering 503")
	durationFlag(fs, &notReady, "not-ready-after", forwarder.DefaultNotReadyAfter, "/readyz answers 503 when Kinesis has not answered (PutRecords, or a DescribeStreamSummary probe when idle) for this long, or its last call failed")
	if err := parse(fs, args, env); err != nil {
		return err
	}
	token = strings.TrimSpace(token)
	switch {
	case token == "" && !insecure:
		return fmt.Errorf("%w: %w", errUsage, errNoAuth)
	case token != "" && insecure:
		return fmt.Errorf("%w: --insecure-no-auth contradicts --webhook-token (or SHARDLINE_WEBHOOK_TOKEN): choose one", errUsage)
	}
	allow, err := bucket.ParseAllowList(inputBuckets)
	if err != nil {
		return fmt.Errorf("%w: --input-buckets: %w", errUsage, err)
	}
	topics, err := forwarder.ParseTopicARNs(snsTopics)
	if err != nil {
		return fmt.Errorf("%w: --sns-topic-arns: %w", errUsage, err)
	}
	log, err := c.logger(env.Stderr)
	if err != nil {
		return err
	}
	if insecure {
		log.Warn("webhook authentication is off (--insecure-no-auth): anyone who reaches the listener can forward events")
	}
	if allow.Empty() {
		log.Warn("no --input-buckets allow-list: events for any bucket are forwarded")
	}
	srvCfg := telemetry.ServerConfig{
		ReadHeaderTimeout: headerTime,
		ReadTimeout:       headerTime + readTime,
		// A request may read its body, then retry PutRecords until the deadline.
		WriteTimeout: readTime + deadline + 10*time.Second,
		IdleTimeout:  idleTime,
		MaxConns:     maxConns,
	}
	if err := srvCfg.Validate(); err != nil || maxConns <= 0 {
		return fmt.Errorf("%w: --max-connections must be positive and timeouts not negative: %v", errUsage, err)
	}
	clients, err := c.clients(ctx)
	if err != nil {
		return err
	}
	reg := telemetry.NewRegistry()
	w, err := forwarder.NewWriter(forwarder.WriterConfig{
		Client: clients.Kinesis, StreamName: c.stream, Deadline: deadline, Registerer: reg, Logger: log,
	})
	if err != nil {
		return errors.Join(errUsage, err)
	}
	f, err := forwarder.New(forwarder.Config{
		Writer: w, Token: token, InputBuckets: allow, SNS: forwarder.SNSConfig{TopicARNs: topics},
		MaxBodyBytes: maxBody, BodyReadTimeout: readTime, Registerer: reg, Logger: log,
	})
	if err != nil {
		return errors.Join(errUsage, err)
	}
	health, err := forwarder.NewHealth(forwarder.HealthConfig{
		Writer: w, Client: clients.Kinesis, StreamName: c.stream, NotReadyAfter: notReady, Logger: log,
	})
	if err != nil {
		return fmt.Errorf("%w: --not-ready-after: %w", errUsage, err)
	}
	// Listeners are bound before anything is served: a port clash is a start-up error.
	webhookLn, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("webhook listener (--listen): %w", err)
	}
	var metricsLn net.Listener
	if metricsListen != "" {
		if metricsLn, err = net.Listen("tcp", metricsListen); err != nil {
			webhookLn.Close()
			return fmt.Errorf("metrics listener (--metrics-listen): %w", err)
		}
	}
	log.Info("forwarder configured", slog.Bool("token", token != ""), slog.String("input_buckets", allow.String()),
		slog.Int("sns_topics", len(topics)), slog.String("metrics_listen", metricsListen), slog.Duration("not_ready_after", notReady))
	mux := forwarderMux(f, reg, health, metricsListen == "")
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return srvCfg.ServeListener(gctx, webhookLn, mux, log) })
	if metricsLn != nil {
		g.Go(func() error { return telemetry.ServeListener(gctx, metricsLn, telemetry.Mux(reg, health), log) })
	}
	g.Go(func() error { return health.Run(gctx) })
	var stopping time.Time
	g.Go(func() error {
		<-gctx.Done()
		stopping = time.Now()
		log.Info("forwarder stopping: draining requests in flight", slog.String("reason", stopReason(ctx, gctx)))
		return nil
	})
	err = g.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	attrs := []any{slog.String("reason", stopReason(ctx, gctx)), slog.Duration("drained_in", time.Since(stopping).Round(time.Millisecond))}
	if err != nil {
		log.Error("forwarder stopped", append(attrs, slog.String("error", err.Error()))...)
		return err
	}
	log.Info("forwarder stopped", attrs...)
	return nil
}

// stopReason says why a server group whose context is gctx, under the command's ctx, stops.
func stopReason(ctx, gctx context.Context) string {
	if ctx.Err() != nil {
		return "shutdown requested (SIGTERM or SIGINT)"
	}
	if cause := context.Cause(gctx); cause != nil {
		return cause.Error()
	}
	return "unknown"
}

// forwarderMux routes the webhook, the health endpoints and, when withMetrics, /metrics.
func forwarderMux(f *forwarder.Forwarder, reg prometheus.Gatherer, health telemetry.Checker, withMetrics bool) *http.ServeMux {
	if !withMetrics {
		reg = nil
	}
	mux := telemetry.Mux(reg, health)
	mux.Handle("POST /webhook", f.Handler())
	mux.Handle("POST /{$}", f.Handler())
	mux.Handle("/webhook", f.Handler()) // other methods: the handler answers 405
	return mux
}
