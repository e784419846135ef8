package forwarder

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/smithy-go"

	"github.com/shardline/shardline/internal/telemetry"
)

// DefaultNotReadyAfter is how long after Kinesis last answered a forwarder stays ready by
// default.
const DefaultNotReadyAfter = 30 * time.Second

// reach records the outcomes of the calls that tell whether Kinesis is reached: PutRecords and
// the readiness probe. The zero value has seen none. It is safe for concurrent use.
type reach struct {
	mu      sync.Mutex
	okAt    time.Time // last call Kinesis answered (PutRecords accepted or partly accepted it)
	failAt  time.Time // last call that failed
	err     string    // its error
	failing bool      // the last outcome recorded was a failure
}

func (r *reach) succeeded(at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !at.Before(r.okAt) {
		r.okAt, r.failing = at, false
	}
}

func (r *reach) failed(at time.Time, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !at.Before(r.failAt) {
		r.failAt, r.err, r.failing = at, err.Error(), true
	}
}

func (r *reach) state() (okAt time.Time, failing bool, err string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.okAt, r.failing, r.err
}

// last is when any outcome was last recorded.
func (r *reach) last() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failAt.After(r.okAt) {
		return r.failAt
	}
	return r.okAt
}

// AssessForwarder decides a forwarder's health from when Kinesis last answered (okAt), whether
// the last call failed since (failing) and the last error. It is pure. A forwarder is live while
// it serves (replacing it would not bring Kinesis back); it is ready when the last call to
// Kinesis (PutRecords or the probe) was answered, at most notReadyAfter ago.
func AssessForwarder(now, okAt time.Time, failing bool, lastErr string, notReadyAfter time.Duration) telemetry.Status {
	st := telemetry.Status{Live: true, Details: map[string]any{"notReadyAfter": notReadyAfter.String()}}
	age := now.Sub(okAt).Round(time.Millisecond)
	if !okAt.IsZero() {
		st.Details["sinceKinesisAnswered"] = age.String()
	}
	if lastErr != "" {
		st.Details["lastError"] = lastErr
	}
	switch {
	case failing:
		st.Reason = "Kinesis not reached: the last call failed: " + lastErr
	case okAt.IsZero():
		st.Reason = "starting: Kinesis not reached yet"
	case age > notReadyAfter:
		st.Reason = fmt.Sprintf("Kinesis not reached for %s, more than %s", age, notReadyAfter)
	default:
		st.Ready = true
		st.Reason = "ready: Kinesis answered " + age.String() + " ago"
	}
	return st
}

// StreamDescriber is the Kinesis call the readiness probe makes; *kinesis.Client implements it.
type StreamDescriber interface {
	DescribeStreamSummary(ctx context.Context, in *kinesis.DescribeStreamSummaryInput, optFns ...func(*kinesis.Options)) (*kinesis.DescribeStreamSummaryOutput, error)
}

// HealthConfig configures a Health. Writer and Client are required, and one of StreamName or
// StreamARN; other zero fields select the defaults documented on them.
type HealthConfig struct {
	// Writer is the forwarder's writer: its PutRecords outcomes count.
	Writer *Writer
	// Client probes the stream with DescribeStreamSummary when no PutRecords was made for
	// ProbeInterval.
	Client     StreamDescriber
	StreamName string
	StreamARN  string
	// NotReadyAfter: with no answer from Kinesis for longer, the forwarder is not ready.
	// Default DefaultNotReadyAfter (30s).
	NotReadyAfter time.Duration
	// ProbeInterval is how long the forwarder may go without a call to Kinesis before it probes;
	// it also bounds each probe. Default NotReadyAfter/3.
	ProbeInterval time.Duration
	// Logger receives probe failures. Nil discards them.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Health reports a forwarder's liveness and readiness (telemetry.Checker) and, in Run, probes
// the stream while no PutRecords tells whether Kinesis is reached.
type Health struct {
	cfg       HealthConfig
	deniedLog sync.Once
	down      bool // the last probe failed (used by Run's goroutine only)
}

// NewHealth validates cfg.
func NewHealth(cfg HealthConfig) (*Health, error) {
	var errs []error
	if cfg.Writer == nil || cfg.Client == nil {
		errs = append(errs, errors.New("Writer and Client are required"))
	}
	if cfg.StreamName == "" && cfg.StreamARN == "" {
		errs = append(errs, errors.New("StreamName or StreamARN is required"))
	}
	if cfg.NotReadyAfter < 0 || cfg.ProbeInterval < 0 {
		errs = append(errs, errors.New("NotReadyAfter and ProbeInterval must not be negative"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("forwarder health config: %w", err)
	}
	cfg.NotReadyAfter = cmp.Or(cfg.NotReadyAfter, DefaultNotReadyAfter)
	cfg.ProbeInterval = cmp.Or(cfg.ProbeInterval, cfg.NotReadyAfter/3)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Health{cfg: cfg}, nil
}

// Health implements telemetry.Checker.
func (h *Health) Health() telemetry.Status {
	ok, failing, err := h.cfg.Writer.reach.state()
	return AssessForwarder(h.cfg.Now(), ok, failing, err, h.cfg.NotReadyAfter)
}

// Run probes the stream at once, then whenever ProbeInterval passed without a call to Kinesis,
// until ctx ends; it returns nil then.
func (h *Health) Run(ctx context.Context) error {
	t := time.NewTicker(max(h.cfg.ProbeInterval/4, 10*time.Millisecond))
	defer t.Stop()
	for {
		if h.cfg.Now().Sub(h.cfg.Writer.reach.last()) >= h.cfg.ProbeInterval {
			h.probe(ctx)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// probe makes one DescribeStreamSummary call and records its outcome. AccessDenied counts as an
// answer (Kinesis was reached, the credentials are valid; the role may only PutRecords).
func (h *Health) probe(ctx context.Context) {
	pctx, cancel := context.WithTimeout(ctx, h.cfg.ProbeInterval)
	defer cancel()
	in := &kinesis.DescribeStreamSummaryInput{}
	if h.cfg.StreamName != "" {
		in.StreamName = aws.String(h.cfg.StreamName)
	}
	if h.cfg.StreamARN != "" {
		in.StreamARN = aws.String(h.cfg.StreamARN)
	}
	_, err := h.cfg.Client.DescribeStreamSummary(pctx, in)
	now := h.cfg.Now()
	var api smithy.APIError
	switch {
	case err == nil:
		h.cfg.Writer.reach.succeeded(now)
		if h.down {
			h.down = false
			h.cfg.Logger.Info("Kinesis reached again")
		}
	case ctx.Err() != nil:
		// Stopping: not an outcome.
	case errors.As(err, &api) && (api.ErrorCode() == "AccessDeniedException" || api.ErrorCode() == "AccessDenied"):
		h.deniedLog.Do(func() {
			h.cfg.Logger.Warn("readiness probe not allowed: grant kinesis:DescribeStreamSummary on the stream so that /readyz also checks that it exists",
				slog.String("error", err.Error()))
		})
		h.cfg.Writer.reach.succeeded(now)
	default:
		h.cfg.Writer.reach.failed(now, fmt.Errorf("DescribeStreamSummary: %w", err))
		if !h.down {
			h.down = true
			h.cfg.Logger.Warn("Kinesis not reached: not ready until it answers", slog.String("error", err.Error()))
		}
	}
}
