package status

import (
	"sort"
	"time"

	"github.com/shardline/shardline/checkpoint"
	"github.com/shardline/shardline/internal/shardmap"
)

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

// IsOpen reports whether the shard is open.
func (sh Shard) IsOpen() bool { return sh.State == "open" }

// newReport builds the rows of a report from the shard map and the lease table: every shard with
// its lease, then the workers, and the lease rows whose shard the stream no longer lists.
func newReport(stream string, now time.Time, m shardmap.Map, leases []checkpoint.Lease) Report {
	rep := Report{Stream: stream, At: now.UTC()}
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
	return rep
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
