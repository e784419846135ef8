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

// forwardOptions are the flags of forward, and what check derives from them.
type forwardOptions struct {
	listen, metricsListen, token, inputBuckets, snsTopics string
	insecure                                              bool
	maxBody                                               int64
	maxConns                                              int
	deadline, readTime, headerTime, idleTime, notReady    time.Duration

	allow  bucket.AllowList
	topics []string
	server telemetry.ServerConfig
}

func forwardFlags(fs *flag.FlagSet) Action {
	o := &forwardOptions{}
	fs.StringVar(&o.listen, "listen", ":8085", "address of the webhook (POST /webhook, also POST /), /healthz, /readyz, and /metrics unless --metrics-listen is set")
	fs.StringVar(&o.metricsListen, "metrics-listen", "", "separate address for /metrics (and /healthz, /readyz); empty: /metrics is served on --listen")
	fs.StringVar(&o.token, "webhook-token", "", "shared secret the webhook requires in Authorization (Bearer or bare); required unless --insecure-no-auth")
	fs.BoolVar(&o.insecure, "insecure-no-auth", false, "accept webhook requests without a token (anyone who reaches --listen can forward events); SNS messages are still verified")
	fs.StringVar(&o.inputBuckets, "input-buckets", "", "comma-separated allow-list of input buckets; events for others are refused (foreign_bucket); empty: any valid bucket name")
	fs.StringVar(&o.snsTopics, "sns-topic-arns", "", "comma-separated SNS topic ARNs whose signed messages the webhook accepts; empty: SNS messages are rejected")
	fs.Int64Var(&o.maxBody, "max-body-bytes", forwarder.DefaultMaxBodyBytes, "largest webhook body accepted (413 above)")
	fs.IntVar(&o.maxConns, "max-connections", 512, "connections served at once per listener; more wait in the listen backlog")
	fs.DurationVar(&o.readTime, "body-read-timeout", time.Minute, "how long a client may take to send a webhook body (408 after)")
	fs.DurationVar(&o.headerTime, "read-header-timeout", telemetry.DefaultReadHeaderTimeout, "how long a client may take to send request headers")
	fs.DurationVar(&o.idleTime, "idle-timeout", telemetry.DefaultIdleTimeout, "how long an idle keep-alive connection stays open")
	fs.DurationVar(&o.deadline, "put-deadline", forwarder.DefaultDeadline, "how long one request may retry PutRecords before answering 503")
	fs.DurationVar(&o.notReady, "not-ready-after", forwarder.DefaultNotReadyAfter, "/readyz answers 503 when Kinesis has not answered (PutRecords, or a DescribeStreamSummary probe when idle) for this long, or its last call failed")
	return Action{Check: o.check, Run: o.run}
}

func (o *forwardOptions) check() error {
	o.token = strings.TrimSpace(o.token)
	switch {
	case o.token == "" && !o.insecure:
		return errNoAuth
	case o.token != "" && o.insecure:
		return errors.New("--insecure-no-auth contradicts --webhook-token (or SHARDLINE_WEBHOOK_TOKEN): choose one")
	}
	var err error
	if o.allow, err = bucket.ParseAllowList(o.inputBuckets); err != nil {
		return fmt.Errorf("--input-buckets: %w", err)
	}
	if o.topics, err = forwarder.ParseTopicARNs(o.snsTopics); err != nil {
		return fmt.Errorf("--sns-topic-arns: %w", err)
	}
	o.server = telemetry.ServerConfig{
		ReadHeaderTimeout: o.headerTime,
		ReadTimeout:       o.headerTime + o.readTime,
		// A request may read its body, then retry PutRecords until the deadline.
		WriteTimeout: o.readTime + o.deadline + 10*time.Second,
		IdleTimeout:  o.idleTime,
		MaxConns:     o.maxConns,
	}
	if err := o.server.Validate(); err != nil || o.maxConns <= 0 {
		return fmt.Errorf("--max-connections must be positive and timeouts not negative: %v", err)
	}
	return nil
}

func (o *forwardOptions) run(ctx context.Context, s *Session) error {
	log := s.Log
	if o.insecure {
		log.Warn("webhook authentication is off (--insecure-no-auth): anyone who reaches the listener can forward events")
	}
	if o.allow.Empty() {
		log.Warn("no --input-buckets allow-list: events for any bucket are forwarded")
	}
	reg := telemetry.NewRegistry()
	w, err := forwarder.NewWriter(forwarder.WriterConfig{
		Client: s.Clients.Kinesis, StreamName: s.Stream, Deadline: o.deadline, Registerer: reg, Logger: log,
	})
	if err != nil {
		return errors.Join(errUsage, err)
	}
	f, err := forwarder.New(forwarder.Config{
		Writer: w, Token: o.token, InputBuckets: o.allow, SNS: forwarder.SNSConfig{TopicARNs: o.topics},
		MaxBodyBytes: o.maxBody, BodyReadTimeout: o.readTime, Registerer: reg, Logger: log,
	})
	if err != nil {
		return errors.Join(errUsage, err)
	}
	health, err := forwarder.NewHealth(forwarder.HealthConfig{
		Writer: w, Client: s.Clients.Kinesis, StreamName: s.Stream, NotReadyAfter: o.notReady, Logger: log,
	})
	if err != nil {
		return fmt.Errorf("%w: --not-ready-after: %w", errUsage, err)
	}
	return o.serve(ctx, log, forwarderMux(f, reg, health, o.metricsListen == ""), reg, health)
}

// serve binds the listeners (a port clash is a start-up error: nothing is served yet), then
// serves the webhook, the metrics listener and the health probe until ctx ends, and logs why
// and after how long draining it stopped.
func (o *forwardOptions) serve(ctx context.Context, log *slog.Logger, mux http.Handler, reg prometheus.Gatherer, health *forwarder.Health) error {
	webhookLn, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("webhook listener (--listen): %w", err)
	}
	var metricsLn net.Listener
	if o.metricsListen != "" {
		if metricsLn, err = net.Listen("tcp", o.metricsListen); err != nil {
			webhookLn.Close()
			return fmt.Errorf("metrics listener (--metrics-listen): %w", err)
		}
	}
	log.Info("forwarder configured", slog.Bool("token", o.token != ""), slog.String("input_buckets", o.allow.String()),
		slog.Int("sns_topics", len(o.topics)), slog.String("metrics_listen", o.metricsListen), slog.Duration("not_ready_after", o.notReady))
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return o.server.ServeListener(gctx, webhookLn, mux, log) })
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
	mux.Handle("POST /webhook", f.Webhook())
	mux.Handle("POST /{$}", f.Webhook())
	mux.Handle("/webhook", f.Webhook()) // other methods: the webhook answers 405
	return mux
}
