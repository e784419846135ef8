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
	"github.com/shardline/shardline/internal/sequencer"
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
	var (
		res Result
		mu  sync.Mutex
	)
	progress := func(f func(*Progress)) {
		mu.Lock()
		f(&res.Progress)
		p := res.Progress
		mu.Unlock()
		if cfg.OnProgress != nil {
			cfg.OnProgress(p)
		}
	}
	inputs, err := list(ctx, cfg.S3, cfg.InputBucket, "", func(n int) { progress(func(p *Progress) { p.Inputs = n }) })
	if err != nil {
		return res, err
	}
	if cfg.InputBucket == cfg.OutputBucket {
		for k := range inputs {
			if strings.HasPrefix(k, cfg.OutputPrefix) {
				delete(inputs, k)
			}
		}
		progress(func(p *Progress) { p.Inputs = len(inputs) })
	}
	outputs, err := list(ctx, cfg.S3, cfg.OutputBucket, cfg.OutputPrefix, func(n int) { progress(func(p *Progress) { p.Outputs = n }) })
	if err != nil {
		return res, err
	}

	// Read the source-etag of every output that has an input.
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
			progress(func(p *Progress) { p.Checked++ })
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return res, err
	}
	for key := range gone {
		delete(outputs, key)
	}

	for key, in := range inputs {
		if _, ok := outputs[key]; !ok {
			res.Problems = append(res.Problems, Problem{Key: key, Kind: Missing, InputETag: in.etag})
			continue
		}
		if src := sourceETags[key]; src != in.etag {
			res.Problems = append(res.Problems, Problem{Key: key, Kind: Stale, InputETag: in.etag, SourceETag: src})
			continue
		}
		res.InSync++
	}
	for key := range outputs {
		if _, ok := inputs[key]; !ok {
			res.Problems = append(res.Problems, Problem{Key: key, Kind: Orphaned})
		}
	}
	sort.Slice(res.Problems, func(i, j int) bool { return res.Problems[i].Key < res.Problems[j].Key })

	// Missing outputs of inputs the ledger dead-lettered are expected.
	for i := range res.Problems {
		p := &res.Problems[i]
		if p.Kind != Missing {
			continue
		}
		e, found, err := cfg.Ledger.Get(ctx, cfg.InputBucket+"/"+p.Key)
		if err != nil {
			return res, err
		}
		if found && e.Outcome == ledger.OutcomeDeadLettered && e.Op == envelope.OpPut && (e.SourceETag == "" || e.SourceETag == p.InputETag) {
			p.Kind = DeadLettered
		}
	}
	if !cfg.Fix {
		return res, nil
	}
	return res, fix(ctx, cfg, &res, inputs, progress)
}

// fix builds one synthetic event per repairable problem and puts them on the stream.
func fix(ctx context.Context, cfg Config, res *Result, inputs map[string]object, progress func(func(*Progress))) error {
	var (
		events []envelope.Event
		index  []int
	)
	now := cfg.Now()
	for i := range res.Problems {
		p := &res.Problems[i]
		op, name := envelope.OpPut, EventNamePut
		switch p.Kind {
		case Missing, Stale:
		case Orphaned:
			op, name = envelope.OpDelete, EventNameDelete
		default:
			continue
		}
		e, found, err := cfg.Ledger.Get(ctx, cfg.InputBucket+"/"+p.Key)
		if err != nil {
			return err
		}
		last := ""
		if found {
			last = e.Sequencer
		}
		seq, err := sequencer.Synthetic(last)
		if err != nil {
			p.FixError = err.Error()
			continue
		}
		in := inputs[p.Key]
		ev, err := envelope.New(Source, name, cfg.InputBucket, p.Key, op, seq, in.etag, "", in.size, now)
		if err != nil {
			p.FixError = err.Error()
			continue
		}
		p.Fix, p.Sequencer = op, seq
		events = append(events, ev)
		index = append(index, i)
	}
	const chunk = 500
	for start := 0; start < len(events); start += chunk {
		end := min(start+chunk, len(events))
		if err := cfg.Writer.Write(ctx, events[start:end]); err != nil {
			for _, i := range index[start:] {
				res.Problems[i].Fix, res.Problems[i].FixError = "", "not enqueued: "+err.Error()
			}
			return fmt.Errorf("enqueue repairs: %w", err)
		}
		progress(func(p *Progress) { p.Enqueued += end - start })
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
