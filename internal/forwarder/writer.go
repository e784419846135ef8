package forwarder

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/shardline/shardline/internal/awsretry"
	"github.com/shardline/shardline/internal/envelope"
)

// Kinesis is the part of the Kinesis API the Writer uses; *kinesis.Client implements it.
type Kinesis interface {
	PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, optFns ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error)
}

// Writer defaults, used when the corresponding WriterConfig field is zero.
const (
	DefaultMaxAttempts = 10
	DefaultDeadline    = 30 * time.Second
	DefaultBackoffBase = 100 * time.Millisecond
	DefaultBackoffMax  = 5 * time.Second
)

// WriterConfig configures a Writer. Client and one of StreamName or StreamARN are required; every
// other zero field selects the default documented on it.
type WriterConfig struct {
	// Client sends the PutRecords calls. Its own SDK retryer (if any) runs inside each of the
	// Writer's attempts.
	Client Kinesis
	// StreamName and StreamARN name the stream; set at least one (both is allowed, as in the
	// Kinesis API, and then they must agree).
	StreamName string
	StreamARN  string

	// MaxAttempts bounds the PutRecords calls made for one batch, the first included. Zero means
	// DefaultMaxAttempts (10).
	MaxAttempts int
	// Deadline bounds one Write call, retries and backoff included. Zero means DefaultDeadline
	// (30s).
	Deadline time.Duration
	// BackoffBase is the ceiling of the first retry's random wait; the ceiling doubles on every
	// retry up to BackoffMax. Zero BackoffBase means DefaultBackoffBase (100ms, or BackoffMax if
	// that is smaller); zero BackoffMax means DefaultBackoffMax (5s, or BackoffBase if that is
	// larger).
	BackoffBase time.Duration
	BackoffMax  time.Duration

	// MaxCallsInFlight bounds the PutRecords calls the Writer makes at once, for all concurrent
	// Writes together. A Write whose attempt finds a free slot makes the call at once; otherwise
	// it waits, and the next call that starts carries every waiting attempt that fits one call
	// (500 records, 5 MiB), so concurrent one-event Writes share calls instead of queueing one
	// call each. Zero means DefaultMaxCallsInFlight (2).
	MaxCallsInFlight int
	// MaxPendingRecords bounds the records waiting for a call (not counting those in calls in
	// flight). A Write whose attempt would go over it fails at once with an error wrapping
	// ErrBacklogFull (the webhook answers 503), so a burst costs bounded memory and latency.
	// An attempt is always accepted when nothing waits. Zero means DefaultMaxPendingRecords
	// (5,000).
	MaxPendingRecords int

	// Registerer receives the Writer's metrics. Nil means a private registry (metrics are kept
	// but not exposed).
	Registerer prometheus.Registerer
	// Logger receives retries and give-ups. Nil discards them.
	Logger *slog.Logger

	// Now is the clock the deadline is measured with and ForwardedAt is taken from. Nil means
	// time.Now. Tests pair it with Sleep to run retries in fake time.
	Now func() time.Time
	// Sleep waits between attempts; it must return early with ctx.Err() when ctx ends. Nil means
	// a timer.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Validate reports a missing or contradictory field.
func (c WriterConfig) Validate() error {
	var errs []error
	if c.Client == nil {
		errs = append(errs, errors.New("Client is required"))
	}
	if c.StreamName == "" && c.StreamARN == "" {
		errs = append(errs, errors.New("StreamName or StreamARN is required"))
	}
	if c.MaxAttempts < 0 {
		errs = append(errs, fmt.Errorf("MaxAttempts %d is negative", c.MaxAttempts))
	}
	if c.Deadline < 0 {
		errs = append(errs, fmt.Errorf("Deadline %s is negative", c.Deadline))
	}
	if c.MaxCallsInFlight < 0 {
		errs = append(errs, fmt.Errorf("MaxCallsInFlight %d is negative", c.MaxCallsInFlight))
	}
	if c.MaxPendingRecords < 0 {
		errs = append(errs, fmt.Errorf("MaxPendingRecords %d is negative", c.MaxPendingRecords))
	}
	if c.BackoffBase < 0 || c.BackoffMax < 0 {
		errs = append(errs, fmt.Errorf("backoff %s..%s is negative", c.BackoffBase, c.BackoffMax))
	}
	if c.BackoffBase > 0 && c.BackoffMax > 0 && c.BackoffBase > c.BackoffMax {
		errs = append(errs, fmt.Errorf("BackoffBase %s exceeds BackoffMax %s", c.BackoffBase, c.BackoffMax))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("forwarder writer config: %w", err)
	}
	return nil
}

func (c WriterConfig) withDefaults() WriterConfig {
	if c.MaxAttempts == 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.Deadline == 0 {
		c.Deadline = DefaultDeadline
	}
	if c.MaxCallsInFlight == 0 {
		c.MaxCallsInFlight = DefaultMaxCallsInFlight
	}
	if c.MaxPendingRecords == 0 {
		c.MaxPendingRecords = DefaultMaxPendingRecords
	}
	if c.BackoffBase == 0 {
		c.BackoffBase = DefaultBackoffBase
		if c.BackoffMax > 0 {
			c.BackoffBase = min(c.BackoffBase, c.BackoffMax)
		}
	}
	if c.BackoffMax == 0 {
		c.BackoffMax = max(DefaultBackoffMax, c.BackoffBase)
	}
	if c.Registerer == nil {
		c.Registerer = prometheus.NewRegistry()
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Sleep == nil {
		c.Sleep = sleep
	}
	return c
}

// Writer puts events on a Kinesis stream, one record each, and returns only when all of them are
// in or it has given up. It is safe for concurrent use, and concurrent Writes share PutRecords
// calls (see MaxCallsInFlight); it has no goroutine of its own and needs no Close.
type Writer struct {
	cfg     WriterConfig
	metrics *writerMetrics
	reach   reach // PutRecords outcomes, for Health
	calls   *combiner
}

// NewWriter validates cfg and registers the Writer's metrics.
func NewWriter(cfg WriterConfig) (*Writer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	m, err := newWriterMetrics(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("forwarder writer metrics: %w", err)
	}
	w := &Writer{cfg: cfg, metrics: m}
	w.calls = &combiner{
		send:        w.put,
		maxInFlight: cfg.MaxCallsInFlight,
		maxPending:  cfg.MaxPendingRecords,
		observe:     func(n int) { m.callRecords.Observe(float64(n)) },
	}
	return w, nil
}

// Write stamps ForwardedAt on (copies of) events, encodes them and puts them on the stream with
// each event's partition key. It returns nil only when Kinesis has accepted every record.
//
// Records Kinesis refuses, and whole calls that are throttled or fail on the server side, are
// retried with jittered exponential backoff (only the refused records are re-sent) until they
// are in, MaxAttempts calls were made for a batch, the Deadline passed or ctx ended; then Write
// returns a *NotForwardedError with the number of records that did not get in. An event that is
// invalid (errors.Is(err, envelope.ErrInvalid)) or too large (*OversizeError) fails the whole
// call before anything is sent. When the Writer's backlog is full (MaxPendingRecords), Write
// returns at once a *NotForwardedError wrapping ErrBacklogFull.
//
// The records of concurrent Writes travel in shared PutRecords calls; each Write still returns
// as soon as its own records are in (or it gave up on them), retries only its own refused
// records and keeps its own Deadline, so one Write's failure does not fail another.
//
// Re-sent records keep their relative order, but PutRecords itself does not keep order across a
// partial failure; the worker orders the events of a key by sequencer, so stream order is not
// needed for correctness. A record may be in the stream twice (a call that timed out after
// Kinesis accepted it); its envelope ID makes the duplicate harmless.
func (w *Writer) Write(ctx context.Context, events []envelope.Event) error {
	if len(events) == 0 {
		return nil
	}
	now := w.cfg.Now().UTC()
	records := make([]record, 0, len(events))
	for _, ev := range events {
		ev.ForwardedAt = now
		r, err := newRecord(ev)
		if err != nil {
			return fmt.Errorf("forward event %s (%s): %w", ev.ID, ev.ObjectID(), err)
		}
		records = append(records, r)
	}

	deadline := now.Add(w.cfg.Deadline)
	ctx, cancel := context.WithTimeout(ctx, w.cfg.Deadline)
	defer cancel()

	all := batches(records)
	for i, batch := range all {
		left, err := w.putBatch(ctx, deadline, batch)
		if err == nil {
			continue
		}
		notIn := len(left)
		for _, later := range all[i+1:] {
			notIn += len(later)
		}
		w.metrics.failed.Add(float64(notIn))
		for _, r := range left {
			w.cfg.Logger.LogAttrs(ctx, slog.LevelError, "record not forwarded",
				slog.String("bucket", r.ev.Bucket), slog.String("key", r.ev.Key),
				slog.String("sequencer", r.ev.Sequencer), slog.String("id", r.ev.ID))
		}
		w.cfg.Logger.LogAttrs(ctx, slog.LevelError, "giving up on PutRecords",
			slog.Int("failed", notIn), slog.Int("total", len(records)), slog.Any("error", err))
		return &NotForwardedError{Failed: notIn, Total: len(records), Err: err}
	}
	return nil
}

// putBatch puts one batch, re-sending refused records, and returns the records that are still
// not in together with the reason when it gives up.
func (w *Writer) putBatch(ctx context.Context, deadline time.Time, pending []record) ([]record, error) {
	for attempt := 1; ; attempt++ {
		failed, err := w.calls.put(ctx, pending)
		if err != nil && !retryable(err) {
			return pending, err
		}
		if err == nil && len(failed) == 0 {
			return nil, nil
		}
		if err == nil {
			err = failed[0].err
			pending = recordsOf(failed)
		}
		if attempt >= w.cfg.MaxAttempts {
			return pending, fmt.Errorf("%d PutRecords attempts: %w", attempt, err)
		}
		wait := awsretry.Backoff(w.cfg.BackoffBase, w.cfg.BackoffMax, attempt)
		if w.cfg.Now().Add(wait).After(deadline) {
			return pending, fmt.Errorf("deadline of %s reached after %d PutRecords attempts: %w", w.cfg.Deadline, attempt, err)
		}
		w.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "retrying PutRecords",
			slog.Int("records", len(pending)), slog.Int("attempt", attempt),
			slog.Duration("backoff", wait), slog.Any("error", err))
		if serr := w.cfg.Sleep(ctx, wait); serr != nil {
			return pending, fmt.Errorf("waiting to retry PutRecords: %w (last error: %w)", serr, err)
		}
		w.metrics.retries.Add(float64(len(pending)))
	}
}

// failure is a record Kinesis refused, with its reason and its index in the call.
type failure struct {
	record
	index int
	err   error
}

func recordsOf(fs []failure) []record {
	out := make([]record, len(fs))
	for i, f := range fs {
		out[i] = f.record
	}
	return out
}

// put makes one PutRecords call and returns the records Kinesis refused, in request order. A
// non-nil error means the call as a whole failed and none of the records is known to be in.
func (w *Writer) put(ctx context.Context, records []record) ([]failure, error) {
	in := &kinesis.PutRecordsInput{Records: make([]types.PutRecordsRequestEntry, len(records))}
	if w.cfg.StreamName != "" {
		in.StreamName = aws.String(w.cfg.StreamName)
	}
	if w.cfg.StreamARN != "" {
		in.StreamARN = aws.String(w.cfg.StreamARN)
	}
	for i, r := range records {
		in.Records[i] = r.entry
	}
	out, err := w.cfg.Client.PutRecords(ctx, in)
	if err != nil {
		w.metrics.calls.WithLabelValues(callError).Inc()
		if !errors.Is(context.Cause(ctx), context.Canceled) { // not every caller going away: Kinesis failed or did not answer in time
			w.reach.failed(w.cfg.Now(), fmt.Errorf("PutRecords: %w", err))
		}
		return nil, fmt.Errorf("PutRecords: %w", err)
	}
	w.reach.succeeded(w.cfg.Now())
	if len(out.Records) != len(records) {
		// The response cannot be matched to the request; treat every record as refused. Re-sending
		// one that did get in only makes a duplicate, which the envelope ID absorbs.
		w.metrics.calls.WithLabelValues(callError).Inc()
		return nil, fmt.Errorf("PutRecords: %d results for %d records", len(out.Records), len(records))
	}
	var failed []failure
	for i, res := range out.Records {
		if code := aws.ToString(res.ErrorCode); code != "" {
			failed = append(failed, failure{record: records[i], index: i, err: &RecordError{Code: code, Message: aws.ToString(res.ErrorMessage)}})
		}
	}
	if len(failed) == 0 && aws.ToInt32(out.FailedRecordCount) > 0 {
		// FailedRecordCount says some failed but no record says which: resend them all.
		w.metrics.calls.WithLabelValues(callError).Inc()
		return nil, fmt.Errorf("PutRecords: FailedRecordCount %d but no failed record", aws.ToInt32(out.FailedRecordCount))
	}
	w.metrics.forwarded.Add(float64(len(records) - len(failed)))
	if len(failed) == 0 {
		w.metrics.calls.WithLabelValues(callOK).Inc()
	} else {
		w.metrics.calls.WithLabelValues(callPartial).Inc()
	}
	return failed, nil
}
