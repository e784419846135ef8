package checkpoint

import (
	"context"
	"errors"
	"fmt"
)

// ErrLeaseChanged is returned (wrapped) by Rewind when the lease row is no longer the one the
// caller read: a worker took or renewed the lease, or the checkpoint moved.
var ErrLeaseChanged = errors.New("lease row changed since it was read")

// Rewind moves a shard's checkpoint back, for reprocessing: to a sequence number (records after
// it are read again), or, when to is "", removes the checkpoint so that the shard is read again
// from TRIM_HORIZON. In the same conditional write it removes the lease owner and any steal
// claim, so that whoever holds or last held the lease fails its next renewal and checkpoint (those
// writes require AssignedTo = itself) instead of moving the checkpoint forward over the rewind.
//
// The write happens only if the row is still as seen: same checkpoint and same LeaseCounter
// (which every take and renewal raises). Otherwise it returns ErrLeaseChanged and changes
// nothing. It refuses to move a checkpoint forwards. Deciding whether a live lease may be
// overridden is the caller's business: Rewind itself does not look at LeaseTimeout.
func (c *Checkpointer) Rewind(ctx context.Context, seen Lease, to string) error {
	if to != "" {
		newOrder, err := Order(to)
		if err != nil {
			return err
		}
		if seen.Checkpoint != "" {
			oldOrder, err := Order(seen.Checkpoint)
			if err != nil {
				return err
			}
			if newOrder > oldOrder {
				return fmt.Errorf("rewind %s: %s is after the checkpoint %s", seen.ShardID, to, seen.Checkpoint)
			}
		}
	}
	if err := c.updateRow(ctx, seen.ShardID, rewindWrite(seen, to)); err != nil {
		if conditionFailed(err) {
			return fmt.Errorf("rewind %s: %w", seen.ShardID, ErrLeaseChanged)
		}
		return fmt.Errorf("rewind %s: %w", seen.ShardID, err)
	}
	return nil
}
