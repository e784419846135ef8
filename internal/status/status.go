// Package status reports the state of a shardline deployment: per shard, whether it is open, its
// parents, who holds its lease and until when, its checkpoint, how far the checkpoint is behind
// the tip (records and time) and how fast records arrive and are processed; per worker, the
// shards it holds. It reads the stream and the lease table only; it changes nothing.
package status

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	chk "github.com/vmware/vmware-go-kcl-v2/clientlibrary/checkpoint"
	"golang.org/x/sync/errgroup"

	"github.com/shardline/shardline/checkpoint"
	"github.com/shardline/shardline/internal/shardmap"
	"github.com/shardline/shardline/internal/shardscan"
)

// Kinesis is what status reads the stream with; *kinesis.Client implements it.
type Kinesis interface {
	shardmap.Lister
	shardscan.Kinesis
}

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
	Kinesis Kinesis // required
	Leases  Leases  // required
	Stream  string  // required
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

// Report is one sample of the deployment's state.
type Report struct {
	Stream  string    `json:"stream"`
	At      time.Time `json:"at"`
	Shards  []Shard   `json:"shards"`
	Workers []Worker  `json:"workers"`
	// Orphans are lease rows whose shard the stream no longer lists (past retention).
	Orphans []string `json:"leasesWithoutShard,omitempty"`
	// Interval is the time since the previous sample, when there was one (--watch).
	Interval float64 `json:"intervalSeconds,omitempty"`
}

// Shard is the state of one shard.
type Shard struct {
	ID           string   `json:"shardId"`
	State        string   `json:"state"` // "open" or "closed"
	Parents      []string `json:"parents,omitempty"`
	HashKeyStart string   `json:"hashKeyStart"`
	HashKeyEnd   string   `json:"hashKeyEnd"`
	HashShare    float64  `json:"hashShare"`
	// Owner is the lease owner the table names ("" = none); LeaseLive says whether its lease
	// has not expired yet.
	Owner        string     `json:"owner,omitempty"`
	LeaseLive    bool       `json:"leaseLive"`
	LeaseExpires *time.Time `json:"leaseExpires,omitempty"`
	LeaseCounter int64      `json:"leaseCounter"`
	ClaimRequest string     `json:"claimRequest,omitempty"`
	// Checkpoint is the last sequence number processed, "SHARD_END", or "" (none yet: the
	// shard is read from TRIM_HORIZON).
	Checkpoint string `json:"checkpoint,omitempty"`
	Lag        *Lag   `json:"lag,omitempty"`
	// IncomingPerSecond counts the records that arrived in the last RateWindow.
	IncomingPerSecond *float64 `json:"incomingPerSecond,omitempty"`
	// ProcessedPerSecond counts the records the checkpoint passed since the previous sample.
	ProcessedPerSecond *float64 `json:"processedPerSecond,omitempty"`
	// RatesAtLeast is true when a rate is a lower bound (a count reached LagLimit).
	RatesAtLeast bool `json:"ratesAtLeast,omitempty"`
	// Error says why the stream could not be read for this shard (the rest of the row holds).
	Error string `json:"error,omitempty"`
}

// Lag is how far a shard's checkpoint is behind the tip.
type Lag struct {
	Records int  `json:"records"`
	AtLeast bool `json:"atLeast,omitempty"` // the count stopped at LagLimit
	// BehindSeconds is the age of the oldest unprocessed record (0 when there is none).
	BehindSeconds float64 `json:"behindSeconds"`
	// MillisBehindLatest is what Kinesis reported reading from the checkpoint.
	MillisBehindLatest int64 `json:"millisBehindLatest"`
}

// Worker is one lease owner.
type Worker struct {
	ID string `json:"worker"`
	// Shards are the shards it holds a live lease on.
	Shards []string `json:"shards"`
	// Expired are shards the table still names it for, with an expired lease.
	Expired []string `json:"expiredLeases,omitempty"`
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
	rep := Report{Stream: s.cfg.Stream, At: now.UTC()}
	byShard := map[string]checkpoint.Lease{}
	for _, l := range leases {
		byShard[l.ShardID] = l
	}
	for _, sh := range m {
		row := Shard{
			ID: sh.ID, State: "closed", Parents: sh.Parents,
			HashKeyStart: sh.Start.String(), HashKeyEnd: sh.End.String(), HashShare: sh.Share(),
		}
		if sh.Open {
			row.State = "open"
		}
		if l, ok := byShard[sh.ID]; ok {
			row.Owner, row.Checkpoint, row.LeaseCounter, row.ClaimRequest = l.Owner, l.Checkpoint, l.Counter, l.ClaimRequest
			if !l.LeaseTimeout.IsZero() && l.Owner != "" {
				t := l.LeaseTimeout.UTC()
				row.LeaseExpires = &t
				row.LeaseLive = now.Before(t)
			}
			delete(byShard, sh.ID)
		}
		rep.Shards = append(rep.Shards, row)
	}
	for id := range byShard {
		rep.Orphans = append(rep.Orphans, id)
	}
	sort.Strings(rep.Orphans)
	rep.Workers = workers(rep.Shards)

	var interval time.Duration
	if !s.prevAt.IsZero() {
		interval = now.Sub(s.prevAt)
		rep.Interval = interval.Seconds()
	}
	if s.cfg.LagLimit >= 0 {
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(s.cfg.Concurrency)
		for i := range rep.Shards {
			row := &rep.Shards[i]
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
		if err := g.Wait(); err != nil {
			return Report{}, err
		}
	}
	s.prev = map[string]string{}
	keep := map[string]bool{}
	for _, row := range rep.Shards {
		s.prev[row.ID] = row.Checkpoint
		keep[row.Checkpoint] = true
	}
	s.mu.Lock()
	for seq := range s.arrivals {
		if !keep[seq] {
			delete(s.arrivals, seq) // only the next sample's starting points are looked up again
		}
	}
	s.mu.Unlock()
	s.prevAt = now
	return rep, nil
}

func workers(shards []Shard) []Worker {
	by := map[string]*Worker{}
	for _, sh := range shards {
		if sh.Owner == "" {
			continue
		}
		w := by[sh.Owner]
		if w == nil {
			w = &Worker{ID: sh.Owner, Shards: []string{}}
			by[sh.Owner] = w
		}
		if sh.LeaseLive {
			w.Shards = append(w.Shards, sh.ID)
		} else {
			w.Expired = append(w.Expired, sh.ID)
		}
	}
	out := make([]Worker, 0, len(by))
	for _, w := range by {
		out = append(out, *w)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// arrival returns when the record with sequence number seq arrived (cached: it never changes).
func (s *Sampler) arrival(ctx context.Context, shardID, seq string) (time.Time, bool, error) {
	s.mu.Lock()
	t, ok := s.arrivals[seq]
	s.mu.Unlock()
	if ok {
		return t, true, nil
	}
	rec, found, err := s.reader.First(ctx, shardID, shardscan.At(seq))
	if err != nil || !found {
		return time.Time{}, false, err
	}
	s.mu.Lock()
	s.arrivals[seq] = rec.Arrival
	s.mu.Unlock()
	return rec.Arrival, true, nil
}

// measure fills a row's lag and rates. It reads the shard once from the previous sample's
// checkpoint (or the current one) to the tip: records up to the current checkpoint were processed
// since the previous sample, the rest are the lag.
func (s *Sampler) measure(ctx context.Context, now time.Time, row *Shard, prev string, hadPrev bool, interval time.Duration) error {
	cp := row.Checkpoint
	if cp == chk.ShardEnd {
		row.Lag = &Lag{}
		zero := 0.0
		row.IncomingPerSecond = &zero
		if hadPrev && interval > 0 && prev != chk.ShardEnd {
			return s.processedUntilEnd(ctx, row, prev, interval)
		}
		return nil
	}
	start := cp
	countProcessed := false
	if hadPrev && interval > 0 {
		switch {
		case cp == "":
			zero := 0.0 // nothing processed yet
			row.ProcessedPerSecond = &zero
		case prev == chk.ShardEnd || (prev != "" && shardscan.SequenceLess(cp, prev)):
			// Rewound since the previous sample (reprocess): no rate.
		default:
			countProcessed, start = true, prev
		}
	}
	pos := shardscan.TrimHorizon()
	if start != "" {
		pos = shardscan.After(start)
	}
	cutoff := now.Add(-s.cfg.RateWindow)
	var (
		lag         Lag
		processed   int
		recent      int
		firstLagged time.Time
	)
	res, err := s.reader.Scan(ctx, row.ID, pos, s.cfg.LagLimit, func(r shardscan.Record) bool {
		if cp != "" && !shardscan.SequenceLess(cp, r.Sequence) {
			processed++
		} else {
			if lag.Records == 0 {
				firstLagged = r.Arrival
			}
			lag.Records++
		}
		if !r.Arrival.Before(cutoff) {
			recent++
		}
		return true
	})
	if err != nil {
		return err
	}
	lag.AtLeast = !res.Complete
	lag.MillisBehindLatest = res.MillisBehindLatest
	if lag.Records > 0 {
		lag.BehindSeconds = max(0, now.Sub(firstLagged).Seconds())
	}
	row.Lag = &lag
	if countProcessed {
		v := float64(processed) / interval.Seconds()
		row.ProcessedPerSecond = &v
		row.RatesAtLeast = row.RatesAtLeast || !res.Complete
	}
	if !row.IsOpen() && res.Complete {
		zero := 0.0
		row.IncomingPerSecond = &zero
		return nil
	}
	return s.incoming(ctx, now, row, start, res, recent)
}

// IsOpen reports whether the shard is open.
func (sh Shard) IsOpen() bool { return sh.State == "open" }

// incoming sets the arrival rate over RateWindow. When the scan from start reached the tip and
// start is older than the window, the scan saw every recent record; otherwise it reads from the
// window's start. kinesalite never answers AT_TIMESTAMP when nothing arrived since, so that read
// is only made when some record is known to qualify.
func (s *Sampler) incoming(ctx context.Context, now time.Time, row *Shard, start string, scan shardscan.Result, recent int) error {
	cutoff := now.Add(-s.cfg.RateWindow)
	window := s.cfg.RateWindow.Seconds()
	startOld := start == ""
	if !startOld {
		t, found, err := s.arrival(ctx, row.ID, start)
		if err != nil {
			return err
		}
		startOld = !found || t.Before(cutoff)
	}
	if startOld && scan.Complete {
		v := float64(recent) / window
		row.IncomingPerSecond = &v
		return nil
	}
	if !startOld || recent > 0 {
		n := 0
		res, err := s.reader.Scan(ctx, row.ID, shardscan.AtTime(cutoff), s.cfg.LagLimit, func(shardscan.Record) bool {
			n++
			return true
		})
		if err != nil {
			return fmt.Errorf("incoming rate: %w", err)
		}
		v := float64(n) / window
		row.IncomingPerSecond = &v
		row.RatesAtLeast = row.RatesAtLeast || !res.Complete
		return nil
	}
	// Many unprocessed records, none of the first LagLimit recent: the rate is unknown without
	// a read that kinesalite may not answer; leave it out.
	return nil
}

// processedUntilEnd counts the records after prev in a shard that has reached SHARD_END since.
func (s *Sampler) processedUntilEnd(ctx context.Context, row *Shard, prev string, interval time.Duration) error {
	pos := shardscan.TrimHorizon()
	if prev != "" {
		pos = shardscan.After(prev)
	}
	n := 0
	res, err := s.reader.Scan(ctx, row.ID, pos, s.cfg.LagLimit, func(shardscan.Record) bool {
		n++
		return true
	})
	if err != nil {
		return err
	}
	v := float64(n) / interval.Seconds()
	row.ProcessedPerSecond = &v
	row.RatesAtLeast = !res.Complete
	return nil
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
