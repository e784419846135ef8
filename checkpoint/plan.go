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
	inStream := make(map[string]bool, len(in.Shards))
	for _, s := range in.Shards {
		inStream[s.ID] = true
	}
	rows := make(map[string]Lease, len(in.Leases))
	for _, l := range in.Leases {
		rows[l.ShardID] = l
	}
	held := make(map[string]bool, len(in.Held))
	for _, id := range in.Held {
		held[id] = true
	}
	finished := func(id string) bool {
		return !inStream[id] || rows[id].Checkpoint == chk.ShardEnd
	}
	live := map[string]bool{in.Worker: true}
	for _, l := range in.Leases {
		if inStream[l.ShardID] && !finished(l.ShardID) && l.Owner != "" && in.Now.Before(l.LeaseTimeout) {
			live[l.Owner] = true
		}
	}

	var p Plan
	type candidate struct {
		id      string
		claimed bool
	}
	var cands []candidate
	demand := 0
	for _, s := range in.Shards {
		if finished(s.ID) {
			continue
		}
		parentsDone := true
		for _, parent := range s.Parents {
			if !finished(parent) {
				parentsDone = false
			}
		}
		if held[s.ID] {
			demand++
			continue
		}
		row := rows[s.ID]
		free := row.Owner == "" || row.Owner == in.Worker || !in.Now.Before(row.LeaseTimeout)
		claimLive := row.ClaimRequest != "" && in.Now.Before(row.ClaimTime.Add(in.ClaimTimeout))
		if !parentsDone {
			if free {
				p.Blocked = append(p.Blocked, s.ID)
			}
			continue
		}
		demand++
		if !free || (claimLive && row.ClaimRequest != in.Worker) {
			continue
		}
		cands = append(cands, candidate{id: s.ID, claimed: claimLive})
	}
	sort.SliceStable(cands, func(i, j int) bool {
		if cands[i].claimed != cands[j].claimed {
			return cands[i].claimed
		}
		return cands[i].id < cands[j].id
	})
	p.Live, p.Active = len(live), demand
	p.FairShare = (demand + p.Live - 1) / p.Live
	room := p.FairShare - len(held)
	for _, c := range cands {
		if len(p.Take) >= room {
			break
		}
		p.Take = append(p.Take, c.id)
	}
	sort.Strings(p.Blocked)
	return p
}
