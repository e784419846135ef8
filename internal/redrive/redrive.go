// Package redrive puts dead-lettered records back into the stream, byte for byte and with their
// original partition key (so each lands on the shard that owns its object), and removes a dead
// letter only once Kinesis has accepted its record. A record that is never accepted keeps its
// letter; running redrive again is safe (a record in the stream twice is a duplicate the ledger
// drops).
//
// Before putting a decodable record back, it reopens the object's ledger entry (ledger.Reopen):
// the processor records dead-lettered events in the ledger, and without that the redriven event
// would be dropped as a duplicate of itself. If a newer event of the object was applied since, the
// entry is left alone and the redriven event is dropped as stale, which is what should happen.
// If the entry does not record the event yet (the worker stores the letter before it commits the
// dead_lettered outcome), the letter is left for a later run: redriving it then would race that
// commit, which would turn the redriven copy into a duplicate and lose the record.
//
// Redrive fails fast, before it touches the ledger, when the stream cannot take records: it
// describes the stream first (missing, no access, not ACTIVE or UPDATING: an error, nothing
// changed). Records go through the forwarder's Writer, so redrive retries as the forwarder does:
// an error that retrying cannot fix (awsretry.Retryable and RecordRetryable: access denied,
// validation, a disabled KMS key, ...) stops it at once; only throttling, server faults and
// transport errors are retried, with awsretry.Backoff, until Config.Deadline.
package redrive

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/shardline/shardline/internal/deadletter"
	"github.com/shardline/shardline/internal/envelope"
	"github.com/shardline/shardline/internal/forwarder"
	"github.com/shardline/shardline/internal/ledger"
)

// Kinesis is the part of *kinesis.Client redrive uses.
type Kinesis interface {
	DescribeStreamSummary(ctx context.Context, in *kinesis.DescribeStreamSummaryInput, optFns ...func(*kinesis.Options)) (*kinesis.DescribeStreamSummaryOutput, error)
	PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, optFns ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error)
}

// Letters lists and removes dead letters; *deadletter.Store implements it.
type Letters interface {
	List(ctx context.Context) ([]deadletter.Letter, error)
	Delete(ctx context.Context, id string) error
}

// Ledger reopens dead-lettered entries; *ledger.Ledger implements it.
type Ledger interface {
	Reopen(ctx context.Context, object, eventID, sequencer string) (ledger.ReopenResult, error)
}

// Filter selects letters; empty fields match everything.
type Filter struct {
	Reason string // exact reason label, e.g. "retries_exhausted"
	// Key is an object key (matches it in any bucket) or bucket/key.
	Key string
}

// Match reports whether l passes the filter.
func (f Filter) Match(l deadletter.Letter) bool {
	if f.Reason != "" && l.Reason != f.Reason {
		return false
	}
	if f.Key == "" {
		return true
	}
	if l.Object == f.Key {
		return true
	}
	_, key, ok := strings.Cut(l.Object, "/")
	return ok && key == f.Key
}

// Config configures Run.
type Config struct {
	Kinesis Kinesis // required unless DryRun
	Letters Letters // required
	Ledger  Ledger  // required unless DryRun
	Stream  string  // required unless DryRun
	Filter  Filter
	DryRun  bool
	// Deadline bounds the retries of refused records; default 2m.
	Deadline time.Duration
	// OnProgress, when set, is called after every batch of up to 500 records is in the stream
	// (or given up on).
	OnProgress func(Progress)
}

// Progress counts letters so far.
type Progress struct {
	Selected int `json:"selected"` // letters matching the filter
	InStream int `json:"inStream"` // records accepted by Kinesis
	Deleted  int `json:"deleted"`  // letters removed
	Pending  int `json:"pending"`  // letters left for a later run (ledger.Pending)
}

// Letter summarises one selected letter.
type Letter struct {
	ID     string    `json:"id"`
	Reason string    `json:"reason"`
	Object string    `json:"object,omitempty"`
	At     time.Time `json:"at"`
	// Ledger is what reopening its ledger entry found (reopened, no_entry, superseded, or ""
	// for a record that does not decode).
	Ledger string `json:"ledger,omitempty"`
	// Done is true once the record is in the stream and the letter removed.
	Done  bool   `json:"done"`
	Error string `json:"error,omitempty"`
}

// Result is what Run did.
type Result struct {
	Progress
	Letters []Letter `json:"letters"`
}

// Run redrives the letters that pass the filter, oldest first.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if cfg.Letters == nil || (!cfg.DryRun && (cfg.Kinesis == nil || cfg.Ledger == nil || cfg.Stream == "")) {
		return Result{}, errors.New("redrive: Letters, and unless DryRun Kinesis, Ledger and Stream, are required")
	}
	if cfg.Deadline == 0 {
		cfg.Deadline = 2 * time.Minute
	}
	if !cfg.DryRun {
		if err := writable(ctx, cfg.Kinesis, cfg.Stream); err != nil {
			return Result{}, err
		}
	}
	all, err := cfg.Letters.List(ctx)
	if err != nil {
		return Result{}, err
	}
	var picked []deadletter.Letter
	for _, l := range all {
		if cfg.Filter.Match(l) {
			picked = append(picked, l)
		}
	}
	sort.Slice(picked, func(i, j int) bool {
		if !picked[i].At.Equal(picked[j].At) {
			return picked[i].At.Before(picked[j].At)
		}
		return picked[i].ID() < picked[j].ID()
	})
	res := Result{Progress: Progress{Selected: len(picked)}, Letters: make([]Letter, len(picked))}
	for i, l := range picked {
		res.Letters[i] = Letter{ID: l.ID(), Reason: l.Reason, Object: l.Object, At: l.At}
	}
	if cfg.DryRun || len(picked) == 0 {
		return res, nil
	}
	w, err := forwarder.NewWriter(forwarder.WriterConfig{Client: cfg.Kinesis, StreamName: cfg.Stream, Deadline: cfg.Deadline, MaxAttempts: math.MaxInt})
	if err != nil {
		return res, fmt.Errorf("redrive: %w", err)
	}
	r := runner{cfg: cfg, res: &res, w: w}
	var batch []int
	for i, l := range picked {
		if len(l.Data) == 0 {
			res.Letters[i].Error = "the letter holds no record data"
			continue
		}
		pk, err := r.prepare(ctx, i, l)
		if err != nil {
			return res, err
		}
		if pk == "" {
			continue // pending: see prepare
		}
		batch = append(batch, i)
		if len(batch) == forwarder.MaxRequestRecords {
			if err := r.put(ctx, picked, batch); err != nil {
				return res, err
			}
			batch = nil
		}
	}
	if len(batch) > 0 {
		if err := r.put(ctx, picked, batch); err != nil {
			return res, err
		}
	}
	return res, nil
}

type runner struct {
	cfg Config
	res *Result
	w   *forwarder.Writer
	pks map[int]string
}

// prepare reopens the ledger entry of a decodable letter and returns its partition key, or ""
// when the letter must wait (ledger.Pending): its record stays dead-lettered, untouched.
func (r *runner) prepare(ctx context.Context, i int, l deadletter.Letter) (string, error) {
	if r.pks == nil {
		r.pks = map[int]string{}
	}
	pk := l.PartitionKey
	ev, err := envelope.Decode(l.Data)
	if err == nil {
		if pk == "" {
			pk = ev.PartitionKey()
		}
		got, err := r.cfg.Ledger.Reopen(ctx, ev.ObjectID(), ev.ID, ev.Sequencer)
		if err != nil {
			return "", err
		}
		r.res.Letters[i].Ledger = got.String()
		if got == ledger.Pending {
			r.res.Pending++
			r.res.Letters[i].Error = "not redriven: the worker that dead-lettered it has not recorded that in the ledger yet; run redrive again later"
			return "", nil
		}
	}
	if pk == "" {
		pk = l.ID() // undecodable and without a key: any shard will do
	}
	r.pks[i] = pk
	return pk, nil
}

// put puts the records of a batch of letters through the forwarder's Writer (refused records are
// retried with backoff until Config.Deadline; an error retrying cannot fix stops it at once) and
// deletes the letter of every record Kinesis accepted.
func (r *runner) put(ctx context.Context, letters []deadletter.Letter, batch []int) error {
	records := make([]forwarder.Record, len(batch))
	for k, i := range batch {
		records[k] = forwarder.Record{Data: letters[i].Data, PartitionKey: r.pks[i]}
	}
	notIn, err := r.w.PutRecords(ctx, records)
	if err != nil && notIn == nil { // nothing sent
		notIn = make([]int, len(batch))
		for k := range notIn {
			notIn[k] = k
		}
	}
	out := make(map[int]bool, len(notIn))
	for _, k := range notIn {
		out[k] = true
		r.res.Letters[batch[k]].Error = "not accepted by the stream: " + err.Error()
	}
	for k, i := range batch {
		if !out[k] {
			r.accepted(ctx, letters[i], i)
		}
	}
	if r.cfg.OnProgress != nil {
		r.cfg.OnProgress(r.res.Progress)
	}
	if err != nil {
		return fmt.Errorf("%d records not accepted by the stream: %w", len(notIn), err)
	}
	return nil
}

// accepted counts letter i's record in the stream and removes the letter.
func (r *runner) accepted(ctx context.Context, l deadletter.Letter, i int) {
	r.res.InStream++
	if err := r.cfg.Letters.Delete(ctx, l.ID()); err != nil {
		// In the stream but not removed: the letter stays and a later redrive puts a duplicate,
		// which the ledger drops. Say so and carry on.
		r.res.Letters[i].Error = "in the stream, but the letter was not removed: " + err.Error()
		return
	}
	r.res.Deleted++
	r.res.Letters[i].Done = true
}

// writable checks that the stream exists, that redrive may describe it and that it takes records
// (ACTIVE or UPDATING), so that a wrong name or a missing permission fails before any ledger entry
// is reopened. The SDK's own retryer covers throttling and transport errors of this one call.
func writable(ctx context.Context, k Kinesis, stream string) error {
	out, err := k.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(stream)})
	if err != nil {
		return fmt.Errorf("stream %s: %w", stream, err)
	}
	if out.StreamDescriptionSummary == nil {
		return fmt.Errorf("stream %s: DescribeStreamSummary answered no summary", stream)
	}
	switch st := out.StreamDescriptionSummary.StreamStatus; st {
	case types.StreamStatusActive, types.StreamStatusUpdating:
		return nil
	default:
		return fmt.Errorf("stream %s is %s: it takes records only when ACTIVE or UPDATING", stream, st)
	}
}
