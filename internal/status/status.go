// Package status reports the state of a shardline deployment: per shard, whether it is open, its
// parents, who holds its lease and until when, its checkpoint, how far the checkpoint is behind
// the tip (records and time) and how fast records arrive and are processed; per worker, the
// shards it holds. It reads the stream and the lease table only; it changes nothing.
package status

import (
	"context"
	"errors"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/shardline/shardline/checkpoint"
	"github.com/shardline/shardline/internal/shardmap"
	"github.com/shardline/shardline/internal/shardscan"
)

// Leases lists the lease table; *checkpoint.Checkpointer implements it.
type Leases interface {
	Scan(ctx context.Context) ([]checkpoint.Lease, error)
}

// Defaults of Config's zero fields.
const (
	DefaultLagLimit    = 10000
	DefaultRateWindow  = time.Minute
	DefaultConcurrency = 4
)

// Config configures a Sampler.
type Config struct {
	Kinesis shardscan.Stream // required; *kinesis.Client implements it
	Leases  Leases           // required
	Stream  string           // required
	// LagLimit bounds the records read per shard and sample to count the lag and the rates;
	// counts that reach it are reported as "at least". Default 10000. Negative: do not read
	// the stream at all (leases and checkpoints only).
	LagLimit int
	// RateWindow is how far back arrivals are counted for the incoming rate. Default 1m.
	RateWindow time.Duration
	// Concurrency bounds the shards read at once. Default 4.
	Concurrency int
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Validate reports the first missing or invalid field.
func (c Config) Validate() error {
	switch {
	case c.Kinesis == nil || c.Leases == nil:
		return errors.New("status: Kinesis and Leases are required")
	case c.Stream == "":
		return errors.New("status: Stream is required")
	case c.RateWindow < 0 || c.Concurrency < 0:
		return errors.New("status: RateWindow and Concurrency must not be negative")
	}
	return nil
}

// Sampler takes reports; it remembers the previous sample to measure processing rates. It is
// safe for use by one goroutine at a time.
type Sampler struct {
	cfg    Config
	reader *shardscan.Reader

	prev   map[string]string // shard → checkpoint at the previous sample
	prevAt time.Time

	mu       sync.Mutex           // guards arrivals (shards are measured concurrently)
	arrivals map[string]time.Time // sequence number → arrival, of checkpoint records seen
}

// NewSampler returns a Sampler; it does no I/O.
func NewSampler(cfg Config) (*Sampler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.LagLimit == 0 {
		cfg.LagLimit = DefaultLagLimit
	}
	if cfg.RateWindow == 0 {
		cfg.RateWindow = DefaultRateWindow
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Sampler{
		cfg:      cfg,
		reader:   &shardscan.Reader{Client: cfg.Kinesis, Stream: cfg.Stream, Limit: max(cfg.LagLimit, 1)},
		arrivals: map[string]time.Time{},
	}, nil
}

// Sample reads the shard map and the lease table, and (unless LagLimit is negative) each shard's
// lag and rates. A shard whose records cannot be read keeps its row, with Error set.
func (s *Sampler) Sample(ctx context.Context) (Report, error) {
	m, err := shardmap.Read(ctx, s.cfg.Kinesis, s.cfg.Stream)
	if err != nil {
		return Report{}, err
	}
	leases, err := s.cfg.Leases.Scan(ctx)
	if err != nil {
		return Report{}, err
	}
	now := s.cfg.Now()
	rep := newReport(s.cfg.Stream, now, m, leases)
	var interval time.Duration
	if !s.prevAt.IsZero() {
		interval = now.Sub(s.prevAt)
		rep.Interval = interval.Seconds()
	}
	if s.cfg.LagLimit >= 0 {
		if err := s.measureAll(ctx, now, rep.Shards, interval); err != nil {
			return Report{}, err
		}
	}
	s.remember(now, rep.Shards)
	return rep, nil
}

// measureAll measures every row's lag and rates, Concurrency shards at a time. A shard that
// cannot be read gets its Error; only ctx ending fails the whole.
func (s *Sampler) measureAll(ctx context.Context, now time.Time, rows []Shard, interval time.Duration) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.cfg.Concurrency)
	for i := range rows {
		row := &rows[i]
		prev, hadPrev := s.prev[row.ID]
		g.Go(func() error {
			if err := s.measure(gctx, now, row, prev, hadPrev, interval); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				row.Error = err.Error()
			}
			return nil
		})
	}
	return g.Wait()
}

// remember keeps this sample's checkpoints (the next sample's starting points) and forgets the
// arrivals of any other record: only those are looked up again.
func (s *Sampler) remember(now time.Time, rows []Shard) {
	s.prev = map[string]string{}
	keep := map[string]bool{}
	for _, row := range rows {
		s.prev[row.ID] = row.Checkpoint
		keep[row.Checkpoint] = true
	}
	s.mu.Lock()
	for seq := range s.arrivals {
		if !keep[seq] {
			delete(s.arrivals, seq)
		}
	}
	s.mu.Unlock()
	s.prevAt = now
}

// Watch samples every interval until ctx ends, passing each report to emit; an error of emit or
// of a sample ends it.
func (s *Sampler) Watch(ctx context.Context, interval time.Duration, emit func(Report) error) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		rep, err := s.Sample(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if err := emit(rep); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
