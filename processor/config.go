package processor

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shardline/shardline/internal/deadletter"
	"github.com/shardline/shardline/internal/ledger"
)

// Handler converges the output of an event's object to the input's current state. An event is
// an ordering token and a wake-up, never the truth about content: a put or a delete both mean
// "look at the input now" (a delete may find the input present again, as in versioned buckets).
// Handle must therefore be idempotent and safe to call with any event of the object, at any
// time: the processor calls it again to repair outputs after races. It returns an error matching
// ErrPermanent for failures retrying cannot fix (and then leaves no output derived from content
// older than the input's current one); any other error is retried.
type Handler interface {
	Handle(ctx context.Context, ev Event) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, ev Event) error

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, ev Event) error { return f(ctx, ev) }

// Verifier is implemented by handlers whose effect can be checked. Verify reports whether the
// output of ev's object matches the input's current state (an output derived from the input's
// current content when the input exists, no output when it does not), whatever ev says. The
// processor uses it to find and repair late writes of a worker that lost its lease, and writes
// that landed although their response was lost.
type Verifier interface {
	Verify(ctx context.Context, ev Event) (bool, error)
}

// shardTopology tells the processor how shards descend from each other after a reshard, so that a
// child shard is processed only after every parent reached SHARD_END.
type shardTopology interface {
	// Parents returns the shard's ParentShardId and AdjacentParentShardId, those that are set.
	Parents(ctx context.Context, shardID string) ([]string, error)
	// Finished reports whether a shard was processed to its end (SHARD_END checkpoint) or no
	// longer exists in the stream.
	Finished(ctx context.Context, shardID string) (bool, error)
}

// ledgerStore is the per-object ordering authority (see package ledger).
type ledgerStore interface {
	Get(ctx context.Context, object string) (ledger.Entry, bool, error)
	Commit(ctx context.Context, e ledger.Entry) error
	Epoch(ctx context.Context) (int64, error)
}

// deadLetterStore stores records that cannot be applied.
type deadLetterStore interface {
	Put(ctx context.Context, l deadletter.Letter) error
}

// leaseView tells whether this worker still owns a shard, without I/O, and gives a shard up.
type leaseView interface {
	Owns(shardID string) bool
	Revoke(shardID string)
}

// bucketPolicy says which input buckets a worker handles events of; bucket.AllowList (parsed
// from `work --input-buckets`) implements it.
type bucketPolicy interface {
	Allows(bucket string) bool
}

// DefaultHandlerTimeout is the default deadline of one handler call. The grayscale handler
// converts the largest image it accepts (--max-pixels, --max-object-bytes) in seconds; a minute
// leaves room for a slow S3 read while bounding what one hostile input costs a shard to
// HandlerTimeout × MaxTimeouts plus backoff.
const DefaultHandlerTimeout = time.Minute

// Retry bounds the retries of transient failures.
type Retry struct {
	MaxAttempts int           // attempts per record before it is dead-lettered; default 8
	Base        time.Duration // first backoff; default 100ms
	Max         time.Duration // backoff cap; default 5s
}

// recordConfig configures the record processors of one worker.
type recordConfig struct {
	Handler     Handler         // required
	Ledger      ledgerStore     // required
	DeadLetters deadLetterStore // required
	Leases      leaseView       // required
	WorkerID    string          // required; recorded in the ledger
	// Topology, when set, makes a child shard wait for its parents (both of a merge). The KCL
	// itself waits only for ParentShardId, and not at all when the parent has no checkpoint.
	Topology shardTopology
	// ParentPoll is how often a child shard checks its parents; default 1s.
	ParentPoll time.Duration
	// KeyConcurrency is how many objects of one batch are processed at once (each object stays
	// serial). Default DefaultKeyConcurrency().
	KeyConcurrency int
	// NoCoalescing applies every event of a batch in turn instead of only the latest of each
	// object; the others then end as duplicate or stale instead of superseded. For tests that
	// exercise the ledger rule record by record.
	NoCoalescing bool

	// InputBuckets, when set, is the allow-list of input buckets: an event naming a bucket it
	// does not allow is dead-lettered (ReasonForeignBucket) without a handler call, so without
	// any read of that bucket. An event naming a bucket that is not a valid S3 bucket name (an
	// ARN, which the SDK would treat as an access point; an alias; upper case…) is always
	// dead-lettered (ReasonInvalidBucket), allow-list or not. nil allows every valid name.
	InputBuckets bucketPolicy
	// HandlerTimeout is the deadline of each handler call (its context carries it). A call still
	// running at the deadline fails the attempt with a *TimeoutError, which is retried; the
	// processor stops waiting for it even if the handler ignores its context. Default
	// DefaultHandlerTimeout.
	HandlerTimeout time.Duration
	// MaxTimeouts is how many handler calls of one record may time out before the record is
	// dead-lettered with ReasonTimeout (never more than Retry.MaxAttempts attempts in all).
	// Default 2.
	MaxTimeouts int
	// MaxOverdueHandlers bounds the handler calls that ignored their deadline and still run in
	// the background (they hold CPU and memory the processor cannot take back). When that many
	// run, a handler call that times out is waited for instead of abandoned: the shard stalls
	// rather than the worker running out of CPU. Default max(2, GOMAXPROCS).
	MaxOverdueHandlers int

	Retry Retry
	// ReadInterval paces a caught-up shard's reads: after a batch that was not full, while the
	// shard is less than ReadInterval behind the stream's tip, the processor returns to the KCL
	// (which then reads again at once) no sooner than ReadInterval after that batch's read
	// started. A hot object's events then pile up between reads and coalesce into one handler
	// call per read, and the shard stays below Kinesis's 5 reads per second, shared by every
	// consumer of the shard. A full batch, or a shard further behind, is read again at once.
	// Default DefaultReadInterval; negative: never wait.
	ReadInterval time.Duration
	// MaxRecords is the GetRecords limit the worker reads with: a batch of that many records is
	// full (more are waiting). Default 1000, the worker's default.
	MaxRecords int
	// FenceTimeout bounds the check and repair of an output after a handler call of a record
	// this worker abandoned (lease lost, shutdown); it runs even while shutting down. Default 10s.
	FenceTimeout time.Duration

	Registerer prometheus.Registerer // default: a private registry (metrics not exported)
	Logger     *slog.Logger          // default slog.Default()
}

// Validate reports the first missing field.
func (c recordConfig) Validate() error {
	switch {
	case c.Handler == nil:
		return errors.New("processor: Handler is required")
	case c.Ledger == nil:
		return errors.New("processor: Ledger is required")
	case c.DeadLetters == nil:
		return errors.New("processor: DeadLetters is required")
	case c.Leases == nil:
		return errors.New("processor: Leases is required")
	case c.WorkerID == "":
		return errors.New("processor: WorkerID is required")
	case c.KeyConcurrency < 0 || c.MaxRecords < 0:
		return errors.New("processor: KeyConcurrency and MaxRecords must not be negative")
	case c.FenceTimeout < 0:
		return errors.New("processor: FenceTimeout must not be negative")
	case c.HandlerTimeout < 0 || c.MaxTimeouts < 0 || c.MaxOverdueHandlers < 0:
		return errors.New("processor: HandlerTimeout, MaxTimeouts and MaxOverdueHandlers must not be negative")
	case c.Retry.MaxAttempts < 0 || c.Retry.Base < 0 || c.Retry.Max < 0:
		return errors.New("processor: Retry values must not be negative")
	}
	return nil
}

func (c recordConfig) withDefaults() recordConfig {
	if c.Retry.MaxAttempts == 0 {
		c.Retry.MaxAttempts = 8
	}
	if c.Retry.Base == 0 {
		c.Retry.Base = 100 * time.Millisecond
	}
	if c.Retry.Max == 0 {
		c.Retry.Max = 5 * time.Second
	}
	if c.KeyConcurrency == 0 {
		c.KeyConcurrency = DefaultKeyConcurrency()
	}
	if c.FenceTimeout == 0 {
		c.FenceTimeout = 10 * time.Second
	}
	if c.HandlerTimeout == 0 {
		c.HandlerTimeout = DefaultHandlerTimeout
	}
	if c.MaxTimeouts == 0 {
		c.MaxTimeouts = 2
	}
	if c.MaxOverdueHandlers == 0 {
		c.MaxOverdueHandlers = max(2, runtime.GOMAXPROCS(0))
	}
	if c.ReadInterval == 0 {
		c.ReadInterval = DefaultReadInterval
	}
	if c.MaxRecords == 0 {
		c.MaxRecords = 1000
	}
	if c.ParentPoll == 0 {
		c.ParentPoll = time.Second
	}
	if c.Registerer == nil {
		c.Registerer = prometheus.NewRegistry()
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// DefaultReadInterval is ReadInterval's default: four reads a second at most while a shard is
// caught up and busy, which leaves a fifth of the shard's read limit to other consumers.
const DefaultReadInterval = 250 * time.Millisecond

// DefaultKeyConcurrency is 16 objects per GOMAXPROCS, at most 128. Handlers mostly wait on S3 and
// DynamoDB; the grayscale handler bounds its own memory with a pixel budget shared by all
// in-flight images, so more objects in flight cost little memory.
func DefaultKeyConcurrency() int {
	return min(16*runtime.GOMAXPROCS(0), 128)
}
