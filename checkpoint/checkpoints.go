package checkpoint

import (
	"context"
	"fmt"
	"log/slog"

	chk "github.com/vmware/vmware-go-kcl-v2/clientlibrary/checkpoint"
	par "github.com/vmware/vmware-go-kcl-v2/clientlibrary/partition"
)

// CheckpointSequence records shard.Checkpoint (a sequence number or SHARD_END) as the shard's
// checkpoint, only if this worker still owns the lease and the checkpoint does not move back.
// A refusal is a *LeaseError wrapping ErrLeaseLost. A write whose outcome is unknown is read
// back: if the row holds the checkpoint, it is recorded. Whenever it is not recorded, the
// checkpoint in shard is put back to the row's (the library set it before calling).
func (c *Checkpointer) CheckpointSequence(shard *par.ShardStatus) error {
	cp := shard.GetCheckpoint()
	order, err := Order(cp)
	if err != nil {
		return err
	}
	err = c.updateRow(context.Background(), shard.ID, checkpointWrite(c.cfg.WorkerID, cp, order))
	if err == nil {
		return nil
	}
	refused := conditionFailed(err)
	item, rerr := c.getItem(context.Background(), shard.ID)
	if rerr == nil {
		stored := attr(item, AttrCheckpoint)
		if stored == cp && attr(item, AttrOwner) == c.cfg.WorkerID {
			// Committed: the error was lost, or a retry of our committed write met it.
			c.cfg.Logger.Info("checkpoint write failed but had committed (read back)", slog.String("shard", shard.ID), slog.String("checkpoint", cp))
			return nil
		}
		shard.SetCheckpoint(stored)
	}
	// If the row could not be read, FetchCheckpoint puts the status right before the event loop
	// decides anything about the shard.
	if refused {
		c.Revoke(shard.ID)
		return &LeaseError{Shard: shard.ID, Reason: "checkpoint " + cp + " refused: not the owner or it would move backwards"}
	}
	return fmt.Errorf("checkpoint %s at %s: %w", shard.ID, cp, err)
}

// FetchCheckpoint loads the shard's checkpoint, owner, lease timeout and claim into shard, as
// the row has them (see ownerForKCL for the owner). It returns chk.ErrSequenceIDNotFound when
// the shard has no checkpoint yet.
//
// With ViewMaxAge set, a shard this worker does not hold is answered from the last Scan (see
// Config.ViewMaxAge): the event loop asks for every such shard on every pass, and acts on the
// answer only through GetLease, which reads the row itself. A held shard's row is always read:
// its consumer starts from the checkpoint.
func (c *Checkpointer) FetchCheckpoint(shard *par.ShardStatus) error {
	var row Lease
	if _, held := c.local(shard.ID); !held && c.cfg.ViewMaxAge > 0 {
		ctx, cancel := c.ctx()
		view, err := c.viewOf(ctx)
		cancel()
		if err != nil {
			return err
		}
		row = view[shard.ID]
	} else {
		item, err := c.getItem(context.Background(), shard.ID)
		if err != nil {
			return err
		}
		row = leaseOf(item)
	}
	cp := row.Checkpoint
	shard.Mux.Lock()
	shard.AssignedTo = c.ownerForKCL(shard.ID, row.Owner, shard.AssignedTo)
	shard.LeaseTimeout = row.LeaseTimeout
	shard.ClaimRequest = row.ClaimRequest
	shard.Checkpoint = cp
	shard.Mux.Unlock()
	if cp == "" {
		return chk.ErrSequenceIDNotFound
	}
	return nil
}
