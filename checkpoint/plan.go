package checkpoint

import (
	"context"
	"slices"
	"sort"
	"time"

	chk "github.com/vmware/vmware-go-kcl-v2/clientlibrary/checkpoint"
)

// Shard is a shard of the stream with its parents (one after a split, two after a merge, none
// for a shard the stream was created with).
type Shard struct {
	ID      string
	Parents []string
}

// Topology lists the stream's shards (open and closed, as ListShards has them) for planned lease
// taking. It may answer from a recent listing.
type Topology interface {
	Shards(ctx context.Context) ([]Shard, error)
}

// PlanInput is everything a lease-taking decision depends on.
type PlanInput struct {
	Worker       string
	Now          time.Time
	ClaimTimeout time.Duration // how long a ClaimRequest blocks everyone but its claimer
	Shards       []Shard       // the stream's shards
	Leases       []Lease       // the lease table (rows of shards not in Shards are ignored)
	Held         []string      // shards this worker's consumers hold now
}

// Plan is which leases a worker may take now.
//
// A shard is a candidate when it is active (not finished, and every parent finished: SHARD_END,
// or gone from the stream past retention), this worker does not hold it, and its lease is free,
// expired, or names this worker with no consumer behind it, and no other worker's claim on it is
// live. The worker may hold up to its fair share: the active shards (and those it holds) divided
// by the live workers (those holding an unexpired lease on an unfinished shard, this one
// included), rounded up. Children whose parents have not finished are never candidates, so a
// worker does not sit on children waiting for parents nobody runs.
type Plan struct {
	// Take is the candidates this worker should take now, in order (claims for this worker
	// first, then by shard ID), at most FairShare − len(Held).
	Take []string
	// Blocked is the free shards not candidates because a parent has not finished.
	Blocked   []string
	FairShare int
	Live      int
	Active    int
}

// Allows reports whether the plan lets this worker take shard id now.
func (p Plan) Allows(id string) bool { return slices.Contains(p.Take, id) }

// PlanTakes decides which leases in.Worker may take now. It does no I/O.
func PlanTakes(in PlanInput) Plan {
	x := indexPlan(in)
	cands, blocked, demand := x.candidates()
	sort.SliceStable(cands, func(i, j int) bool {
		if cands[i].claimed != cands[j].claimed {
			return cands[i].claimed
		}
		return cands[i].id < cands[j].id
	})
	p := Plan{Blocked: blocked, Live: x.liveWorkers(), Active: demand}
	p.FairShare = (demand + p.Live - 1) / p.Live
	room := p.FairShare - len(x.held)
	for _, c := range cands {
		if len(p.Take) >= room {
			break
		}
		p.Take = append(p.Take, c.id)
	}
	sort.Strings(p.Blocked)
	return p
}

// planIndex is a PlanInput indexed by shard ID.
type planIndex struct {
	in       PlanInput
	inStream map[string]bool
	rows     map[string]Lease
	held     map[string]bool
}

func indexPlan(in PlanInput) planIndex {
	x := planIndex{
		in:       in,
		inStream: make(map[string]bool, len(in.Shards)),
		rows:     make(map[string]Lease, len(in.Leases)),
		held:     make(map[string]bool, len(in.Held)),
	}
	for _, s := range in.Shards {
		x.inStream[s.ID] = true
	}
	for _, l := range in.Leases {
		x.rows[l.ShardID] = l
	}
	for _, id := range in.Held {
		x.held[id] = true
	}
	return x
}

// finished reports whether a shard needs no consumer any more: it reached SHARD_END, or it is
// gone from the stream (past retention).
func (x planIndex) finished(id string) bool {
	return !x.inStream[id] || x.rows[id].Checkpoint == chk.ShardEnd
}

// liveWorkers counts the workers holding an unexpired lease on an unfinished shard, this one
// included.
func (x planIndex) liveWorkers() int {
	live := map[string]bool{x.in.Worker: true}
	for _, l := range x.in.Leases {
		if x.inStream[l.ShardID] && !x.finished(l.ShardID) && l.Owner != "" && x.in.Now.Before(l.LeaseTimeout) {
			live[l.Owner] = true
		}
	}
	return len(live)
}

// candidate is a shard this worker may take; claimed if its claim on the shard is live.
type candidate struct {
	id      string
	claimed bool
}

// candidates returns the shards this worker may take (see Plan), the free shards blocked by a
// parent that has not finished, and the demand: the active shards, those it holds included.
func (x planIndex) candidates() (cands []candidate, blocked []string, demand int) {
	for _, s := range x.in.Shards {
		if x.finished(s.ID) {
			continue
		}
		if x.held[s.ID] {
			demand++
			continue
		}
		row := x.rows[s.ID]
		free := row.Owner == "" || row.Owner == x.in.Worker || !x.in.Now.Before(row.LeaseTimeout)
		claimLive := row.ClaimRequest != "" && x.in.Now.Before(row.ClaimTime.Add(x.in.ClaimTimeout))
		if slices.ContainsFunc(s.Parents, func(p string) bool { return !x.finished(p) }) {
			if free {
				blocked = append(blocked, s.ID)
			}
			continue
		}
		demand++
		if !free || (claimLive && row.ClaimRequest != x.in.Worker) {
			continue
		}
		cands = append(cands, candidate{id: s.ID, claimed: claimLive})
	}
	return cands, blocked, demand
}
