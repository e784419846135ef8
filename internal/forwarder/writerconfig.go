package forwarder

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

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
	c.MaxAttempts = cmp.Or(c.MaxAttempts, DefaultMaxAttempts)
	c.Deadline = cmp.Or(c.Deadline, DefaultDeadline)
	c.MaxCallsInFlight = cmp.Or(c.MaxCallsInFlight, DefaultMaxCallsInFlight)
	c.MaxPendingRecords = cmp.Or(c.MaxPendingRecords, DefaultMaxPendingRecords)
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
