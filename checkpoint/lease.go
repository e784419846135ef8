package checkpoint

import (
	"context"
	"fmt"
	"log/slog"

	par "github.com/vmware/vmware-go-kcl-v2/clientlibrary/partition"
)

// GetLease takes or renews the lease of a shard for worker. It succeeds only if the lease is
// free, expired, or ours, and not claimed by another worker; the write is a compare-and-set on
// the owner and lease timeout read just before, so two workers never both succeed.
//
// While a consumer of this worker holds the shard, only its renewal can succeed (the status
// names this worker): the event loop cannot start a second consumer for it. A failed renewal
// leaves the shard held, Owns false, until the consumer's release.
func (c *Checkpointer) GetLease(shard *par.ShardStatus, worker string) error {
	renewal, err := c.beforeLeaseRead(shard, worker)
	if err != nil {
		return err
	}
	item, err := c.getItem(context.Background(), shard.ID)
	if err != nil {
		return err
	}
	d := decideLease(leaseRequest{
		Worker: worker, Renewal: renewal, Parent: shard.ParentShardId, Item: leaseItemOf(item),
		Now: c.cfg.Now(), LeaseDuration: c.cfg.LeaseDuration, ClaimTimeout: c.cfg.ClaimTimeout,
	})
	if d.refused() {
		return c.refuseLease(shard.ID, renewal, d.reason())
	}
	if err := c.writeLease(shard.ID, worker, d); err != nil {
		if conditionFailed(err) {
			return c.refuseLease(shard.ID, renewal, "changed while we tried to take it")
		}
		return fmt.Errorf("take lease %s: %w", shard.ID, err)
	}
	return c.recordLease(shard, worker, renewal, d)
}

// beforeLeaseRead decides what needs no read of the lease item. A renewal (one of this worker's
// consumers holds the shard) is refused once the shard was given up, or once its status no longer
// names this worker (the consumer is ending); a take may be withheld by the plan (see
// Config.Topology).
func (c *Checkpointer) beforeLeaseRead(shard *par.ShardStatus, worker string) (renewal bool, err error) {
	l, renewal := c.local(shard.ID)
	switch {
	case renewal && l.revoked:
		return true, &LeaseError{Shard: shard.ID, Reason: "given up or lost; released when its consumer ends"}
	case renewal && shard.GetLeaseOwner() != worker:
		return true, c.refuseLease(shard.ID, true, "no longer ours, or its consumer in this worker is ending")
	case renewal:
		return true, nil
	}
	if reason := c.planRefusal(shard.ID); reason != "" {
		return false, &LeaseError{Shard: shard.ID, Reason: reason}
	}
	return false, nil
}

// refuseLease returns the LeaseError of a refused take or renewal; a refused renewal also gives
// the shard up (see Revoke).
func (c *Checkpointer) refuseLease(shardID string, renewal bool, reason string) error {
	if renewal {
		c.Revoke(shardID)
	}
	return &LeaseError{Shard: shardID, Reason: reason}
}

// writeLease makes the conditional write d asks for. A write that failed may have committed:
// with an unknown outcome, or with a failed condition that an SDK retry of our own committed
// write met (its response was lost). The lease timeout d.Until is unique to this write: if the
// item holds it, the lease is ours and writeLease returns nil. Otherwise it returns the write's
// error; should that write land after all, the item names this worker with no consumer behind
// it, and the event loop takes the shard again (see ownerForKCL).
func (c *Checkpointer) writeLease(shardID, worker string, d leaseDecision) error {
	err := c.updateRow(context.Background(), shardID, d.Write)
	if err == nil {
		return nil
	}
	got, rerr := c.getItem(context.Background(), shardID)
	if rerr != nil || attr(got, AttrOwner) != worker || attr(got, AttrLeaseTimeout) != formatTime(d.Until) {
		return err
	}
	c.cfg.Logger.Info("lease write failed but had committed (read back)", slog.String("shard", shardID), slog.String("error", err.Error()))
	return nil
}

// recordLease notes a lease written per d in this worker's leases and in the KCL's shard status.
// A renewal whose consumer ended and released the shard while the write was in flight is not
// noted: nobody runs the shard, and should the item name this worker now, it reads as unowned
// and the event loop takes it.
func (c *Checkpointer) recordLease(shard *par.ShardStatus, worker string, renewal bool, d leaseDecision) error {
	c.mu.Lock()
	cur, held := c.leases[shard.ID]
	if renewal && !held {
		c.mu.Unlock()
		return &LeaseError{Shard: shard.ID, Reason: "released while renewing"}
	}
	cur.until = d.Until // a Revoke since beforeLeaseRead still holds
	c.leases[shard.ID] = cur
	c.mu.Unlock()
	shard.Mux.Lock()
	shard.AssignedTo = worker
	shard.LeaseTimeout = d.Until
	shard.ClaimRequest = ""
	shard.Mux.Unlock()
	if !renewal {
		c.cfg.Logger.Info("lease taken", slog.String("shard", shard.ID), slog.String("previous_owner", d.Previous))
	}
	return nil
}
