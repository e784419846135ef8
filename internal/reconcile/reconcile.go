// Package reconcile compares an input bucket with its output bucket and reports every key whose
// output is missing, orphaned (no input) or stale (derived from another version of the input: its
// source-etag metadata differs from the input's ETag). With Fix it repairs them through the normal
// path: it puts synthetic events on the stream, which workers apply like any other, so the ledger
// stays the single authority on what each output should be (see sequencer.Synthetic).
package reconcile

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"golang.org/x/sync/errgroup"

	"github.com/shardline/shardline/internal/envelope"
	"github.com/shardline/shardline/internal/grayscale"
	"github.com/shardline/shardline/internal/ledger"
)

// S3 is the part of *s3.Client reconcile uses.
type S3 interface {
	s3.ListObjectsV2APIClient
	HeadObject(ctx context.Context, in *s3.HeadObjectInput, optFns ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
}

// Ledger reads ledger entries; *ledger.Ledger implements it.
type Ledger interface {
	Get(ctx context.Context, object string) (ledger.Entry, bool, error)
}

// Writer puts events on the stream; *forwarder.Writer implements it.
type Writer interface {
	Write(ctx context.Context, events []envelope.Event) error
}

// Kinds of problems.
const (
	Missing  = "missing"  // the input exists, its output does not
	Orphaned = "orphaned" // the output exists, its input does not
	Stale    = "stale"    // the output's source-etag is not the input's ETag
	// DeadLettered: the output is missing because the ledger dead-lettered the input's current
	// content (not an image, corrupt…). Reported, never repaired: it would fail again.
	DeadLettered = "dead_lettered"
)

// Source and event names of synthetic events.
const (
	Source          = "shardline:reconcile"
	EventNamePut    = "Reconcile:Put"
	EventNameDelete = "Reconcile:Delete"
)

// Config configures Run.
type Config struct {
	S3           S3     // required
	Ledger       Ledger // required
	Writer       Writer // required with Fix
	InputBucket  string // required
	OutputBucket string // required
	OutputPrefix string // the workers' --output-prefix
	Fix          bool
	// Concurrency bounds the HeadObject calls in flight; default 8.
	Concurrency int
	// OnProgress, when set, is called as objects are listed and checked.
	OnProgress func(Progress)
	Now        func() time.Time // default time.Now
}

// Progress counts the work so far.
type Progress struct {
	Inputs   int `json:"inputs"`   // input objects listed
	Outputs  int `json:"outputs"`  // output objects listed
	Checked  int `json:"checked"`  // outputs whose metadata was read
	Enqueued int `json:"enqueued"` // repair events in the stream
}

// Problem is one key that is not in sync.
type Problem struct {
	Key  string `json:"key"`
	Kind string `json:"problem"`
	// InputETag is the input's ETag ("" when orphaned); SourceETag is the output's source-etag
	// metadata ("" when missing).
	InputETag  string `json:"inputETag,omitempty"`
	SourceETag string `json:"outputSourceETag,omitempty"`
	// Fix is the repair event put on the stream ("put" or "delete"), with its sequencer, or
	// FixError why none was.
	Fix       string `json:"fix,omitempty"`
	Sequencer string `json:"sequencer,omitempty"`
	FixError  string `json:"fixError,omitempty"`
}

// Result is what Run found (and enqueued).
type Result struct {
	Progress
	InSync   int       `json:"inSync"`
	Problems []Problem `json:"problems"`
}

// Unrepaired returns how many keys are out of sync (missing, orphaned or stale) without a repair
// event enqueued for them: all of them without Fix, those whose repair failed with it.
// Dead-lettered keys are not counted: they are explained (the dead-letter table holds them) and
// repairing them would fail again.
func (r Result) Unrepaired() int {
	n := 0
	for _, p := range r.Problems {
		if p.Kind != DeadLettered && p.Fix == "" {
			n++
		}
	}
	return n
}

// Count returns how many problems are of kind.
func (r Result) Count(kind string) int {
	n := 0
	for _, p := range r.Problems {
		if p.Kind == kind {
			n++
		}
	}
	return n
}

func (c Config) validate() error {
	switch {
	case c.S3 == nil || c.Ledger == nil:
		return errors.New("reconcile: S3 and Ledger are required")
	case c.InputBucket == "" || c.OutputBucket == "":
		return errors.New("reconcile: the input and output buckets are required")
	case c.InputBucket == c.OutputBucket && c.OutputPrefix == "":
		return errors.New("reconcile: input and output are one bucket: an output prefix is required to tell them apart")
	case c.Fix && c.Writer == nil:
		return errors.New("reconcile: a stream Writer is required to fix")
	}
	return nil
}

type object struct {
	etag string
	size int64
}

// Run lists both buckets, compares them and, with Fix, enqueues repairs.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if err := cfg.validate(); err != nil {
		return Result{}, err
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 8
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	r := &run{cfg: cfg}
	inputs, outputs, err := r.list(ctx)
	if err != nil {
		return r.res, err
	}
	sourceETags, err := r.sourceETags(ctx, inputs, outputs)
	if err != nil {
		return r.res, err
	}
	r.res.Problems, r.res.InSync = compare(inputs, outputs, sourceETags)
	if err := r.explainDeadLettered(ctx); err != nil {
		return r.res, err
	}
	if !cfg.Fix {
		return r.res, nil
	}
	return r.res, fix(ctx, cfg, &r.res, inputs, r.progress)
}

// run is one Run: its config and its result so far, which the progress callback reports.
type run struct {
	cfg Config
	mu  sync.Mutex // guards res.Progress (outputs are checked concurrently)
	res Result
}

// progress applies f to the progress and reports the result to OnProgress.
func (r *run) progress(f func(*Progress)) {
	r.mu.Lock()
	f(&r.res.Progress)
	p := r.res.Progress
	r.mu.Unlock()
	if r.cfg.OnProgress != nil {
		r.cfg.OnProgress(p)
	}
}

// list lists the inputs and the outputs (keys without the output prefix). When input and output
// are one bucket, the objects under the output prefix are not inputs.
func (r *run) list(ctx context.Context) (inputs, outputs map[string]object, err error) {
	cfg := r.cfg
	inputs, err = list(ctx, cfg.S3, cfg.InputBucket, "", func(n int) { r.progress(func(p *Progress) { p.Inputs = n }) })
	if err != nil {
		return nil, nil, err
	}
	if cfg.InputBucket == cfg.OutputBucket {
		for k := range inputs {
			if strings.HasPrefix(k, cfg.OutputPrefix) {
				delete(inputs, k)
			}
		}
		r.progress(func(p *Progress) { p.Inputs = len(inputs) })
	}
	outputs, err = list(ctx, cfg.S3, cfg.OutputBucket, cfg.OutputPrefix, func(n int) { r.progress(func(p *Progress) { p.Outputs = n }) })
	if err != nil {
		return nil, nil, err
	}
	return inputs, outputs, nil
}

// sourceETags reads the source-etag metadata of every output that has an input, Concurrency at a
// time. Outputs deleted since the listing are taken out of outputs.
func (r *run) sourceETags(ctx context.Context, inputs, outputs map[string]object) (map[string]string, error) {
	cfg := r.cfg
	var mu sync.Mutex
	sourceETags, gone := map[string]string{}, map[string]bool{}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(cfg.Concurrency)
	for key := range outputs {
		if _, ok := inputs[key]; !ok {
			continue
		}
		g.Go(func() error {
			head, err := cfg.S3.HeadObject(gctx, &s3.HeadObjectInput{Bucket: aws.String(cfg.OutputBucket), Key: aws.String(cfg.OutputPrefix + key)})
			if err != nil && !notFound(err) {
				return fmt.Errorf("head s3://%s/%s%s: %w", cfg.OutputBucket, cfg.OutputPrefix, key, err)
			}
			mu.Lock()
			if err == nil {
				sourceETags[key] = head.Metadata[grayscale.MetaSourceETag]
			} else {
				gone[key] = true // deleted since the listing
			}
			mu.Unlock()
			r.progress(func(p *Progress) { p.Checked++ })
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for key := range gone {
		delete(outputs, key)
	}
	return sourceETags, nil
}

// compare returns the keys that are out of sync, sorted, and how many are in sync.
func compare(inputs, outputs map[string]object, sourceETags map[string]string) ([]Problem, int) {
	var (
		problems []Problem
		inSync   int
	)
	for key, in := range inputs {
		if _, ok := outputs[key]; !ok {
			problems = append(problems, Problem{Key: key, Kind: Missing, InputETag: in.etag})
			continue
		}
		if src := sourceETags[key]; src != in.etag {
			problems = append(problems, Problem{Key: key, Kind: Stale, InputETag: in.etag, SourceETag: src})
			continue
		}
		inSync++
	}
	for key := range outputs {
		if _, ok := inputs[key]; !ok {
			problems = append(problems, Problem{Key: key, Kind: Orphaned})
		}
	}
	sort.Slice(problems, func(i, j int) bool { return problems[i].Key < problems[j].Key })
	return problems, inSync
}

// explainDeadLettered turns a missing output into DeadLettered when the ledger dead-lettered the
// input's current content: that output is expected to be missing.
func (r *run) explainDeadLettered(ctx context.Context) error {
	for i := range r.res.Problems {
		p := &r.res.Problems[i]
		if p.Kind != Missing {
			continue
		}
		e, found, err := r.cfg.Ledger.Get(ctx, r.cfg.InputBucket+"/"+p.Key)
		if err != nil {
			return err
		}
		if found && e.Outcome == ledger.OutcomeDeadLettered && e.Op == envelope.OpPut && (e.SourceETag == "" || e.SourceETag == p.InputETag) {
			p.Kind = DeadLettered
		}
	}
	return nil
}

// list returns key → object of every object under prefix (keys without the prefix).
func list(ctx context.Context, c S3, bucket, prefix string, counted func(int)) (map[string]object, error) {
	out := map[string]object{}
	in := &s3.ListObjectsV2Input{Bucket: aws.String(bucket)}
	if prefix != "" {
		in.Prefix = aws.String(prefix)
	}
	p := s3.NewListObjectsV2Paginator(c, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list s3://%s/%s: %w", bucket, prefix, err)
		}
		for _, o := range page.Contents {
			key := strings.TrimPrefix(aws.ToString(o.Key), prefix)
			out[key] = object{etag: strings.Trim(aws.ToString(o.ETag), `"`), size: aws.ToInt64(o.Size)}
		}
		counted(len(out))
	}
	return out, nil
}

func notFound(err error) bool {
	var nf *s3types.NotFound
	var nsk *s3types.NoSuchKey
	if errors.As(err, &nf) || errors.As(err, &nsk) {
		return true
	}
	var ae smithy.APIError
	return errors.As(err, &ae) && (ae.ErrorCode() == "NotFound" || ae.ErrorCode() == "NoSuchKey")
}
