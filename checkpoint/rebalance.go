package checkpoint

import (
	"context"
	"fmt"
	"log/slog"

	chk "github.com/vmware/vmware-go-kcl-v2/clientlibrary/checkpoint"
	par "github.com/vmware/vmware-go-kcl-v2/clientlibrary/partition"
)

// ListActiveWorkers maps each worker holding an unexpired lease to its unfinished shards, for
// the KCL's lease balancing, and brings every listed shard's status up to date with its row (see
// ownerForKCL for the owner). Like the library it returns chk.ErrShardNotAssigned while any
// unfinished shard has no live owner, so that free shards are taken before any is stolen.
//
// With ViewMaxAge set it answers from the last Scan while that is younger than ViewMaxAge (the
// pass's own, made by its first FetchCheckpoint): its claims are conditional writes, and the
// statuses of shards this worker holds are not taken from the rows.
func (c *Checkpointer) ListActiveWorkers(shards map[string]*par.ShardStatus) (map[string][]*par.ShardStatus, error) {
	leases, err := c.recentLeases(context.Background())
	if err != nil {
		return nil, err
	}
	now := c.cfg.Now()
	workers := map[string][]*par.ShardStatus{}
	unassigned := false
	for _, l := range leases {
		shard, ok := shards[l.ShardID]
		if !ok {
			continue
		}
		_, held := c.local(l.ShardID)
		shard.Mux.Lock()
		if !held {
			shard.AssignedTo = c.ownerForKCL(l.ShardID, l.Owner, shard.AssignedTo)
			shard.LeaseTimeout = l.LeaseTimeout
			shard.ClaimRequest = l.ClaimRequest
			shard.Checkpoint = l.Checkpoint
		}
		// A consumer's status is its own: the library sets the checkpoint there and then writes
		// it from there, and its renewal reads the row itself (a takeover is found there). The
		// row may also predate this worker's take in the same pass (a shared Scan): naming the
		// previous owner in the status would make the next renewal give the shard up.
		owner, timeout := shard.AssignedTo, shard.LeaseTimeout
		shard.Mux.Unlock()
		if l.Checkpoint == chk.ShardEnd {
			continue
		}
		if owner == "" || !now.Before(timeout) {
			unassigned = true
			continue
		}
		workers[owner] = append(workers[owner], shard)
	}
	if unassigned {
		return nil, chk.ErrShardNotAssigned
	}
	return workers, nil
}

// ClaimShard asks the current owner of a shard to hand it to claimer: the owner's next renewal
// fails, it releases the lease, and only the claimer may take it until the claim times out.
//
// A worker has at most one claim pending at a time, and claims nothing once it holds its fair
// share (see PlanTakes; with Config.Topology set): while that is so, ClaimShard places no claim
// and returns nil, so that the library's rebalance waits. The library means to steal one shard
// at a time, but its guard is reset whenever its map iteration meets a shard without our claim
// before the one with it; with a pass every few hundred milliseconds it would claim every shard
// of the other worker before the first is released, and the two would trade shards back.
func (c *Checkpointer) ClaimShard(shard *par.ShardStatus, claimer string) error {
	owner := shard.GetLeaseOwner()
	if owner == "" {
		return &LeaseError{Shard: shard.ID, Reason: "no owner to claim from"}
	}
	if reason := c.claimWithheld(claimer); reason != "" {
		c.cfg.Logger.Debug("lease claim withheld", slog.String("shard", shard.ID), slog.String("reason", reason))
		return nil
	}
	now := c.cfg.Now().UTC()
	err := c.updateRow(context.Background(), shard.ID, claimWrite(owner, claimer, now, c.cfg.ClaimTimeout))
	if err != nil {
		if conditionFailed(err) {
			return &LeaseError{Shard: shard.ID, Reason: "claim refused: owner changed or already claimed"}
		}
		return fmt.Errorf("claim %s: %w", shard.ID, err)
	}
	shard.Mux.Lock()
	shard.ClaimRequest = claimer
	shard.Mux.Unlock()
	c.cfg.Logger.Info("lease claimed for rebalancing", slog.String("shard", shard.ID), slog.String("owner", owner))
	return nil
}
