package forwarder

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shardline/shardline/internal/bucket"
	"github.com/shardline/shardline/internal/envelope"
	"github.com/shardline/shardline/internal/notification"
)

// EventWriter puts events on the stream and returns nil only when all of them are in. *Writer
// implements it.
type EventWriter interface {
	Write(ctx context.Context, events []envelope.Event) error
}

// ParseFunc turns a notification body into events and skips; notification.Parse is one.
type ParseFunc func(body []byte) (notification.Result, error)

// DefaultMaxBodyBytes is the webhook's default body limit.
const DefaultMaxBodyBytes = 8 << 20

// DefaultBodyReadTimeout is how long the webhook waits for a whole body by default.
const DefaultBodyReadTimeout = time.Minute

// Config configures a Forwarder. Writer is required; every other zero field selects the default
// documented on it.
type Config struct {
	// Writer puts the parsed events on the stream, normally a *Writer.
	Writer EventWriter
	// Parse decodes a notification body. Nil means notification.Parse.
	Parse ParseFunc

	// Token, when not empty, is the shared secret the webhook requires in the Authorization
	// header, either as "Bearer <token>" (what MinIO sends) or bare. Empty means the webhook
	// authenticates nothing but SNS signatures: `shardline forward` refuses to start that way
	// unless the operator passes --insecure-no-auth. Not used by HandleLambda.
	Token string
	// InputBuckets is the allow-list of buckets whose events are forwarded; the empty list allows
	// every bucket. Whatever the list, an event whose bucket is not a valid S3 bucket name (an ARN
	// or access-point alias included) is refused. Refused events are never written to the
	// stream; they are counted in events_refused_total by reason (foreign_bucket,
	// invalid_bucket), logged, and acknowledged, since redelivering them cannot help.
	InputBuckets bucket.AllowList
	// SNS configures how the webhook authenticates SNS HTTP(S) subscription messages. Its zero
	// value refuses every SNS message.
	SNS SNSConfig
	// MaxBodyBytes bounds a webhook body. Zero means DefaultMaxBodyBytes (8 MiB).
	MaxBodyBytes int64
	// BodyReadTimeout bounds reading one webhook body, so that a client trickling bytes cannot
	// hold a request (and up to MaxBodyBytes of memory) forever; the request gets 408. Zero means
	// DefaultBodyReadTimeout (1 minute).
	BodyReadTimeout time.Duration

	// Registerer receives the request and skip metrics. Nil means a private registry.
	Registerer prometheus.Registerer
	// Logger receives skips, malformed payloads and failures. Nil discards them.
	Logger *slog.Logger
}

// Validate reports a missing or out-of-range field.
func (c Config) Validate() error {
	var errs []error
	if c.Writer == nil {
		errs = append(errs, errors.New("Writer is required"))
	}
	if c.MaxBodyBytes < 0 {
		errs = append(errs, fmt.Errorf("MaxBodyBytes %d is negative", c.MaxBodyBytes))
	}
	if c.BodyReadTimeout < 0 {
		errs = append(errs, fmt.Errorf("BodyReadTimeout %s is negative", c.BodyReadTimeout))
	}
	if err := c.SNS.validate(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("forwarder config: %w", err)
	}
	return nil
}

// Forwarder parses notifications and writes their events to the stream; it serves the webhook
// (Webhook) and the Lambda entry point (HandleLambda). It is safe for concurrent use.
type Forwarder struct {
	writer  EventWriter
	parse   ParseFunc
	token   string
	buckets bucket.AllowList
	sns     *snsVerifier
	maxBody int64
	readFor time.Duration
	log     *slog.Logger
	metrics *forwarderMetrics
}

// New validates cfg and registers the Forwarder's metrics.
func New(cfg Config) (*Forwarder, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	f := &Forwarder{
		writer:  cfg.Writer,
		parse:   cfg.Parse,
		token:   cfg.Token,
		buckets: cfg.InputBuckets,
		sns:     newSNSVerifier(cfg.SNS),
		maxBody: cmp.Or(cfg.MaxBodyBytes, DefaultMaxBodyBytes),
		readFor: cmp.Or(cfg.BodyReadTimeout, DefaultBodyReadTimeout),
		log:     cfg.Logger,
	}
	if f.parse == nil {
		f.parse = notification.Parse
	}
	if f.log == nil {
		f.log = slog.New(slog.DiscardHandler)
	}
	reg := cfg.Registerer
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m, err := newForwarderMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("forwarder metrics: %w", err)
	}
	f.metrics = m
	return f, nil
}

// deliver counts and logs the skips of res, refuses the events whose bucket is invalid or not on
// the allow-list, and writes the others; it returns how many it refused, and nil only when every
// other event is in the stream.
func (f *Forwarder) deliver(ctx context.Context, res notification.Result) (refused int, err error) {
	for _, s := range res.Skipped {
		f.metrics.skipped.WithLabelValues(s.Reason).Inc()
		f.log.LogAttrs(ctx, slog.LevelInfo, "notification entry skipped",
			slog.String("reason", s.Reason), slog.String("detail", s.Detail))
	}
	events, refusals := admit(f.buckets, res.Events)
	for _, r := range refusals {
		f.metrics.refused.WithLabelValues(r.reason).Inc()
		f.log.LogAttrs(ctx, slog.LevelWarn, "event refused",
			slog.String("reason", r.reason), slog.String("bucket", r.event.Bucket),
			slog.String("key", r.event.Key), slog.String("op", r.event.Op), slog.Any("error", r.err))
	}
	if len(events) == 0 {
		return len(refusals), nil
	}
	if err := f.writer.Write(ctx, events); err != nil {
		f.log.LogAttrs(ctx, slog.LevelError, "events not forwarded",
			slog.Int("events", len(events)), slog.Any("error", err))
		return len(refusals), err
	}
	for _, ev := range events {
		f.log.LogAttrs(ctx, slog.LevelDebug, "event forwarded",
			slog.String("bucket", ev.Bucket), slog.String("key", ev.Key),
			slog.String("sequencer", ev.Sequencer), slog.String("op", ev.Op), slog.String("id", ev.ID))
	}
	return len(refusals), nil
}
