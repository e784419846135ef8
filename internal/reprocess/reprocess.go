// Package reprocess rewinds shard checkpoints so that workers read records again, from
// TRIM_HORIZON, from a time, or from one record of one shard, optionally raising the ledger epoch
// so that events already applied apply again (after a handler change, say).
//
// Without an epoch bump the replay is idempotent: every replayed event meets a ledger entry with
// the same (epoch, sequencer) and is dropped as a duplicate (or stale), so no output is written.
// With it, the replayed event that each object's ledger entry holds (its latest) applies again and
// the handler runs for it; older replayed events stay stale, because the sequencer always decides
// the order and the epoch only breaks a tie.
//
// It refuses to run while any lease is live: a running worker keeps reading from the position it
// holds in memory and reads the epoch only when it takes a lease, so a rewind under it would be
// partly ignored. Stop the workers, rewind, start them again (LiveLeasesError says how).
// ForceAfterStop overrides the check for leases left behind by killed workers; the rewind removes
// every lease owner in the same conditional write, so even a worker that still runs fails its
// next renewal and checkpoint and gives the shard up rather than overwrite the rewind.
package reprocess

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	chk "github.com/vmware/vmware-go-kcl-v2/clientlibrary/checkpoint"

	"github.com/shardline/shardline/checkpoint"
	"github.com/shardline/shardline/internal/shardmap"
	"github.com/shardline/shardline/internal/shardscan"
)

// Leases reads and rewinds the lease table; *checkpoint.Checkpointer implements it.
type Leases interface {
	Scan(ctx context.Context) ([]checkpoint.Lease, error)
	Rewind(ctx context.Context, seen checkpoint.Lease, to string) error
}

// Epochs is the ledger's epoch; *ledger.Ledger implements it.
type Epochs interface {
	Epoch(ctx context.Context) (int64, error)
	BumpEpoch(ctx context.Context) (int64, error)
}

// Kind is where a replay starts.
type Kind int

// Kinds of From.
const (
	FromTrimHorizon Kind = iota + 1 // every shard from its oldest record
	FromTime                        // every shard from its first record at or after Time
	FromSequence                    // one shard from one record (its descendants from TRIM_HORIZON)
)

// From is a parsed --from value.
type From struct {
	Kind     Kind
	Time     time.Time
	Shard    string
	Sequence string
}

func (f From) String() string {
	switch f.Kind {
	case FromTrimHorizon:
		return "trim-horizon"
	case FromTime:
		return f.Time.UTC().Format(time.RFC3339Nano)
	case FromSequence:
		return f.Shard + ":" + f.Sequence
	}
	return "?"
}

var sequenceRE = regexp.MustCompile(`^[0-9]{1,129}$`)

// ParseFrom parses "trim-horizon", an RFC 3339 time, or "<shard ID>:<sequence number>" (replay
// starts with that record).
func ParseFrom(s string) (From, error) {
	switch {
	case strings.EqualFold(s, "trim-horizon") || s == "TRIM_HORIZON":
		return From{Kind: FromTrimHorizon}, nil
	case s == "":
		return From{}, errors.New("--from is required: trim-horizon, an RFC 3339 time, or <shard>:<sequence>")
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return From{Kind: FromTime, Time: t}, nil
	}
	if i := strings.LastIndexByte(s, ':'); i > 0 && sequenceRE.MatchString(s[i+1:]) {
		return From{Kind: FromSequence, Shard: s[:i], Sequence: s[i+1:]}, nil
	}
	return From{}, fmt.Errorf("--from %q: want trim-horizon, an RFC 3339 time (2026-01-02T15:04:05Z) or <shard>:<sequence>", s)
}

// Config configures Run.
type Config struct {
	Kinesis shardscan.Stream // required; *kinesis.Client implements it
	Leases  Leases           // required
	Epochs  Epochs           // required when EpochBump
	Stream  string           // required
	From    From             // required
	// EpochBump raises the ledger epoch after the rewind.
	EpochBump bool
	// ForceAfterStop rewinds even though some leases look live: for leases left behind by
	// workers that were killed rather than stopped. The caller asserts that no worker runs.
	ForceAfterStop bool
	// DryRun computes and returns the plan without writing anything.
	DryRun bool
	// ScanLimit bounds the records read per shard to turn a time or a sequence number into a
	// checkpoint; default shardscan.DefaultLimit.
	ScanLimit int
	// OnShard, when set, is called as each shard is planned and as each is rewound (progress).
	OnShard func(done, total int, phase string)
	Now     func() time.Time // default time.Now
}

// Validate reports the first missing field.
func (c Config) Validate() error {
	switch {
	case c.Kinesis == nil || c.Leases == nil || c.Stream == "":
		return errors.New("reprocess: Kinesis, Leases and Stream are required")
	case c.From.Kind == 0:
		return errors.New("reprocess: From is required")
	case c.EpochBump && c.Epochs == nil:
		return errors.New("reprocess: Epochs is required for an epoch bump")
	}
	return nil
}

// Change is what happens to one shard's checkpoint.
type Change struct {
	Shard string `json:"shardId"`
	// From is the checkpoint before ("" = none, "SHARD_END" = finished).
	From string `json:"from"`
	// To is the checkpoint after ("" = none: read from TRIM_HORIZON); equal to From when Rewind
	// is false.
	To     string `json:"to"`
	Rewind bool   `json:"rewind"`
	// Why explains the decision in a few words.
	Why  string `json:"why"`
	seen checkpoint.Lease
}

// Result is what Run did (or, with DryRun, would do).
type Result struct {
	From        string   `json:"from"`
	Changes     []Change `json:"shards"`
	Rewound     int      `json:"rewound"`
	EpochBumped bool     `json:"epochBumped"`
	EpochBefore int64    `json:"epochBefore,omitempty"`
	EpochAfter  int64    `json:"epochAfter,omitempty"`
	DryRun      bool     `json:"dryRun,omitempty"`
	// Forced lists the live leases ForceAfterStop overrode.
	Forced []string `json:"forcedLeases,omitempty"`
}

// LiveLeasesError is returned when leases are live and ForceAfterStop is not set. Its message
// lists them and the steps to take.
type LiveLeasesError struct {
	Live []checkpoint.Lease
	Now  time.Time
}

func (e *LiveLeasesError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "refusing to rewind: %d shard lease(s) are live, so workers are running:\n", len(e.Live))
	for _, l := range e.Live {
		fmt.Fprintf(&b, "  %s  held by %s, expires in %s\n", l.ShardID, l.Owner, l.LeaseTimeout.Sub(e.Now).Round(100*time.Millisecond))
	}
	b.WriteString(`A running worker keeps reading from the position it holds in memory and reads the ledger
epoch only when it takes a lease, so a rewind under it would be partly ignored. To reprocess:
  1. stop every worker (ECS: set the service's desired count to 0 and wait until no task runs);
     a worker stopped with SIGTERM releases its leases, a killed one's expire after --lease-duration;
  2. run 'shardline status' until no shard shows a live lease;
  3. run this command again (add --force-after-stop only if a killed worker's lease has not
     expired yet and you are sure that no worker runs);
  4. start the workers: they take the leases, read the epoch and replay from the new checkpoints.`)
	return b.String()
}

// Run plans the rewind of every shard, refuses if leases are live (see LiveLeasesError), rewinds,
// then bumps the epoch if asked. Rewinds are conditional on the lease rows being unchanged since
// they were read; if one fails, Run stops and returns what it did so far with the error (running
// it again is safe: a rewind never moves a checkpoint forwards). The epoch is bumped last, so a
// failed run never leaves a raised epoch without the replay.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if err := cfg.Validate(); err != nil {
		return Result{}, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	res := Result{From: cfg.From.String(), DryRun: cfg.DryRun}
	m, err := shardmap.Read(ctx, cfg.Kinesis, cfg.Stream)
	if err != nil {
		return res, err
	}
	leases, err := cfg.Leases.Scan(ctx)
	if err != nil {
		return res, err
	}
	now := cfg.Now()
	var live []checkpoint.Lease
	for _, l := range leases {
		if l.Owner != "" && now.Before(l.LeaseTimeout) {
			live = append(live, l)
		}
	}
	if len(live) > 0 {
		if !cfg.ForceAfterStop {
			return res, &LiveLeasesError{Live: live, Now: now}
		}
		for _, l := range live {
			res.Forced = append(res.Forced, l.ShardID)
		}
	}
	p := planner{cfg: cfg, m: m, reader: &shardscan.Reader{Client: cfg.Kinesis, Stream: cfg.Stream, Limit: cfg.ScanLimit}}
	res.Changes, err = p.plan(ctx, leases)
	if err != nil {
		return res, err
	}
	if cfg.EpochBump {
		if res.EpochBefore, err = cfg.Epochs.Epoch(ctx); err != nil {
			return res, err
		}
		res.EpochAfter = res.EpochBefore + 1
	}
	if cfg.DryRun {
		return res, nil
	}
	total := 0
	for _, c := range res.Changes {
		if c.Rewind {
			total++
		}
	}
	for _, c := range res.Changes {
		if !c.Rewind {
			continue
		}
		if err := cfg.Leases.Rewind(ctx, c.seen, c.To); err != nil {
			if errors.Is(err, checkpoint.ErrLeaseChanged) {
				err = fmt.Errorf("%w (did a worker start? stop every worker and run the command again)", err)
			}
			return res, err
		}
		res.Rewound++
		if cfg.OnShard != nil {
			cfg.OnShard(res.Rewound, total, "rewound")
		}
	}
	if cfg.EpochBump {
		if res.EpochAfter, err = cfg.Epochs.BumpEpoch(ctx); err != nil {
			return res, fmt.Errorf("checkpoints rewound, but %w: run `shardline reprocess` with --epoch-bump again before starting the workers", err)
		}
		res.EpochBumped = true
	}
	return res, nil
}

type planner struct {
	cfg    Config
	m      shardmap.Map
	reader *shardscan.Reader
}

// plan decides every lease row's new checkpoint. Shards without a lease row have never been read
// and start at TRIM_HORIZON anyway; lease rows of shards past retention are left alone.
func (p planner) plan(ctx context.Context, leases []checkpoint.Lease) ([]Change, error) {
	var descendants map[string]bool
	if p.cfg.From.Kind == FromSequence {
		if _, ok := p.m.Get(p.cfg.From.Shard); !ok {
			return nil, fmt.Errorf("stream %s has no shard %s", p.cfg.Stream, p.cfg.From.Shard)
		}
		descendants = map[string]bool{}
		for _, id := range p.m.Descendants(p.cfg.From.Shard) {
			descendants[id] = true
		}
	}
	var changes []Change
	for i, l := range leases {
		if _, ok := p.m.Get(l.ShardID); !ok {
			continue
		}
		c := Change{Shard: l.ShardID, From: l.Checkpoint, To: l.Checkpoint, seen: l}
		var err error
		switch p.cfg.From.Kind {
		case FromTrimHorizon:
			c = toTrimHorizon(c, "replay everything")
		case FromTime:
			c, err = p.toTime(ctx, c)
		case FromSequence:
			switch {
			case l.ShardID == p.cfg.From.Shard:
				c, err = p.toSequence(ctx, c)
			case descendants[l.ShardID]:
				c = toTrimHorizon(c, "descends from "+p.cfg.From.Shard+": replay all of it after its parent")
			default:
				c.Why = "not involved"
			}
		}
		if err != nil {
			return nil, err
		}
		changes = append(changes, c)
		if p.cfg.OnShard != nil {
			p.cfg.OnShard(i+1, len(leases), "planned")
		}
	}
	return changes, nil
}

func toTrimHorizon(c Change, why string) Change {
	if c.From == "" {
		c.Why = "no checkpoint yet: already reads from TRIM_HORIZON"
		return c
	}
	c.To, c.Rewind, c.Why = "", true, why
	return c
}

// toRecord rewinds c so that rec is the first record read again.
func (p planner) toRecord(ctx context.Context, c Change, rec shardscan.Record, what string) (Change, error) {
	if c.From == "" {
		c.Why = "no checkpoint yet: already reads from TRIM_HORIZON"
		return c, nil
	}
	if c.From != chk.ShardEnd && shardscan.SequenceLess(c.From, rec.Sequence) {
		c.Why = "checkpoint is before " + what + " already"
		return c, nil
	}
	prev, found, err := p.reader.Before(ctx, c.Shard, rec)
	if err != nil {
		return c, err
	}
	if !found {
		return toTrimHorizon(c, what+" is the shard's oldest record"), nil
	}
	if prev.Sequence == c.From {
		c.Why = "checkpoint is right before " + what + " already"
		return c, nil
	}
	c.To, c.Rewind, c.Why = prev.Sequence, true, "replay from "+what
	return c, nil
}

func (p planner) toTime(ctx context.Context, c Change) (Change, error) {
	if c.From == "" {
		c.Why = "no checkpoint yet: already reads from TRIM_HORIZON"
		return c, nil
	}
	t := p.cfg.From.Time
	if now := p.cfg.Now(); t.After(now) {
		return c, fmt.Errorf("--from %s is in the future", t.Format(time.RFC3339))
	}
	rec, found, err := p.reader.First(ctx, c.Shard, shardscan.AtTime(t))
	if err != nil {
		return c, err
	}
	if !found {
		c.Why = "no record at or after " + t.UTC().Format(time.RFC3339)
		return c, nil
	}
	return p.toRecord(ctx, c, rec, "the first record at or after "+t.UTC().Format(time.RFC3339))
}

func (p planner) toSequence(ctx context.Context, c Change) (Change, error) {
	seq := p.cfg.From.Sequence
	rec, found, err := p.reader.First(ctx, c.Shard, shardscan.At(seq))
	if err != nil {
		return c, err
	}
	if !found || rec.Sequence != seq {
		return c, fmt.Errorf("shard %s has no record %s (past retention, or not a sequence number of this shard)", c.Shard, seq)
	}
	return p.toRecord(ctx, c, rec, "record "+seq)
}
