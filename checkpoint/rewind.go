package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
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
	names := map[string]string{
		"#id": AttrShardID, "#cp": AttrCheckpoint, "#order": AttrCheckpointOrder, "#owner": AttrOwner,
		"#claim": AttrClaimRequest, "#claim_time": AttrClaimTime, "#counter": AttrLeaseCounter,
	}
	values := map[string]types.AttributeValue{}
	cond := "attribute_exists(#id)"
	if seen.Checkpoint == "" {
		cond += " AND attribute_not_exists(#cp)"
	} else {
		cond += " AND #cp = :seen_cp"
		values[":seen_cp"] = str(seen.Checkpoint)
	}
	if seen.Counter == 0 {
		cond += " AND attribute_not_exists(#counter)"
	} else {
		cond += " AND #counter = :seen_counter"
		values[":seen_counter"] = &types.AttributeValueMemberN{Value: strconv.FormatInt(seen.Counter, 10)}
	}
	update := "REMOVE #cp, #order, #owner, #claim, #claim_time"
	if to != "" {
		order, _ := Order(to)
		update = "SET #cp = :cp, #order = :order REMOVE #owner, #claim, #claim_time"
		values[":cp"], values[":order"] = str(to), str(order)
	}
	if err := c.updateRow(ctx, seen.ShardID, rowUpdate{update: update, cond: cond, names: names, values: values}); err != nil {
		if conditionFailed(err) {
			return fmt.Errorf("rewind %s: %w", seen.ShardID, ErrLeaseChanged)
		}
		return fmt.Errorf("rewind %s: %w", seen.ShardID, err)
	}
	return nil
}
