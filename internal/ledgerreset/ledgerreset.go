// Package ledgerreset repairs one object whose ledger entry stops its real events: an entry
// holding a forged far-future sequencer (32 'F's makes every later real event stale, so the key
// is frozen) or an operator's mistake. It deletes the entry conditionally (ledger.Reset: only if
// it still holds what was read, so a worker's concurrent commit is never clobbered) and then puts
// a converging event for the object on the stream, the way reconcile --fix does: a synthetic
// event with the lowest synthetic sequencer (sequencer.Synthetic), which a worker applies
// like any other, making the output match the input's current state (present or not). Every
// later real event applies again, since nothing is in the ledger for it to be stale against.
package ledgerreset

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shardline/shardline/internal/bucket"
	"github.com/shardline/shardline/internal/envelope"
	"github.com/shardline/shardline/internal/ledger"
	"github.com/shardline/shardline/internal/sequencer"
)

// Ledger reads and conditionally resets entries; *ledger.Ledger implements it.
type Ledger interface {
	Get(ctx context.Context, object string) (ledger.Entry, bool, error)
	Reset(ctx context.Context, read ledger.Entry) error
}

// Writer puts events on the stream; *forwarder.Writer implements it.
type Writer interface {
	Write(ctx context.Context, events []envelope.Event) error
}

// Source and event name of the converging event (an ordinary put: the handler converges the
// output to the input's current state whatever the op says).
const (
	Source    = "shardline:ledger-reset"
	EventName = "LedgerReset:Converge"
)

// ErrChanged is ledger.ErrChanged: the entry changed between the read and the reset; nothing was
// changed or enqueued. Look at the entry again before retrying.
var ErrChanged = ledger.ErrChanged

// Config configures Run.
type Config struct {
	Ledger Ledger // required
	Writer Writer // required unless DryRun
	Bucket string // required: the input bucket
	Key    string // required: the object key
	DryRun bool   // read and report, change nothing
	Now    func() time.Time
}

// Result says what Run found and did.
type Result struct {
	Object string `json:"object"`
	Found  bool   `json:"found"`           // the object had a ledger entry
	Entry  *Entry `json:"entry,omitempty"` // the entry read (and reset, unless DryRun)
	Reset  bool   `json:"reset"`           // the entry was deleted
	// Event is the converging event enqueued (or, with DryRun, that would be).
	Event    *envelope.Event `json:"event,omitempty"`
	Enqueued bool            `json:"enqueued"`
	DryRun   bool            `json:"dryRun"`
}

// Entry is the ledger entry Run read (ledger.Entry), with the field names of shardline's JSON
// output.
type Entry struct {
	Object     string    `json:"object"`
	Sequencer  string    `json:"sequencer"`
	Epoch      int64     `json:"epoch"`
	Op         string    `json:"op,omitempty"`
	Outcome    string    `json:"outcome,omitempty"`
	EventID    string    `json:"eventId,omitempty"`
	SourceETag string    `json:"sourceETag,omitempty"`
	OutputETag string    `json:"outputETag,omitempty"`
	Worker     string    `json:"worker,omitempty"`
	Shard      string    `json:"shardId,omitempty"`
	UpdatedAt  time.Time `json:"updatedAt"`
	Reopened   bool      `json:"reopened,omitempty"`
}

func entryOf(e ledger.Entry) *Entry {
	return &Entry{Object: e.Object, Sequencer: e.Sequencer, Epoch: e.Epoch, Op: e.Op, Outcome: e.Outcome, EventID: e.EventID,
		SourceETag: e.SourceETag, OutputETag: e.OutputETag, Worker: e.Worker, Shard: e.Shard, UpdatedAt: e.UpdatedAt, Reopened: e.Reopened}
}

func (c Config) validate() error {
	switch {
	case c.Ledger == nil:
		return errors.New("ledgerreset: Ledger is required")
	case !c.DryRun && c.Writer == nil:
		return errors.New("ledgerreset: a stream Writer is required unless DryRun")
	case c.Key == "":
		return errors.New("ledgerreset: the object key is required")
	}
	if err := bucket.Valid(c.Bucket); err != nil {
		return fmt.Errorf("ledgerreset: %w", err)
	}
	return nil
}

// Run reads the object's entry, deletes it if it still holds what was read, and enqueues a
// converging event. Without an entry it only enqueues the event. It returns ErrChanged (wrapped)
// when the entry changed in between; then nothing is enqueued. If the enqueue fails after the
// reset, running again is safe: it finds no entry and enqueues again.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if err := cfg.validate(); err != nil {
		return Result{}, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	res := Result{Object: cfg.Bucket + "/" + cfg.Key, DryRun: cfg.DryRun}
	e, found, err := cfg.Ledger.Get(ctx, res.Object)
	if err != nil {
		return res, err
	}
	if found {
		res.Found, res.Entry = true, entryOf(e)
	}
	// With no entry the lowest synthetic sequencer applies, and every real event after it too.
	ev, err := envelope.New(Source, EventName, cfg.Bucket, cfg.Key, envelope.OpPut, sequencer.FirstSynthetic, "", "", 0, cfg.Now())
	if err != nil {
		return res, fmt.Errorf("ledgerreset: converging event: %w", err)
	}
	res.Event = &ev
	if cfg.DryRun {
		return res, nil
	}
	if found {
		if err := cfg.Ledger.Reset(ctx, e); err != nil {
			return res, err
		}
		res.Reset = true
	}
	if err := cfg.Writer.Write(ctx, []envelope.Event{ev}); err != nil {
		return res, fmt.Errorf("enqueue the converging event (the ledger entry is reset; run again to enqueue): %w", err)
	}
	res.Enqueued = true
	return res, nil
}
