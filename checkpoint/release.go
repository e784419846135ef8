package checkpoint

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	chk "github.com/vmware/vmware-go-kcl-v2/clientlibrary/checkpoint"
)

// RemoveLeaseInfo deletes the lease item of a shard that no longer exists in the stream.
func (c *Checkpointer) RemoveLeaseInfo(shardID string) error {
	c.forget(shardID)
	ctx, cancel := c.ctx()
	defer cancel()
	_, err := c.cfg.Client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(c.cfg.TableName), Key: shardKey(shardID)})
	if err != nil {
		return fmt.Errorf("remove lease %s: %w", shardID, err)
	}
	return nil
}

// RemoveLeaseOwner releases this worker's lease on a shard; it does nothing if another worker
// owns it by now. The KCL calls it when a shard consumer ends: the shard stops being held by
// this worker (after the write, so that the event loop cannot take it again meanwhile). A write
// whose outcome is unknown is read back; if the row still names this worker, the error is
// returned and the event loop takes the shard again (see ownerForKCL).
func (c *Checkpointer) RemoveLeaseOwner(shardID string) error {
	c.Revoke(shardID)
	defer c.forget(shardID)
	err := c.updateRow(context.Background(), shardID, releaseWrite(c.cfg.WorkerID))
	if err != nil {
		if conditionFailed(err) {
			return nil
		}
		if item, rerr := c.getItem(context.Background(), shardID); rerr != nil || attr(item, AttrOwner) == c.cfg.WorkerID {
			return fmt.Errorf("release lease %s: %w", shardID, err)
		}
	}
	c.cfg.Logger.Info("lease released", slog.String("shard", shardID))
	return nil
}

// GetLeaseOwner returns the current owner of a shard's lease, or chk.NoLeaseOwnerErr.
func (c *Checkpointer) GetLeaseOwner(shardID string) (string, error) {
	item, err := c.getItem(context.Background(), shardID)
	if err != nil {
		return "", err
	}
	if owner := attr(item, AttrOwner); owner != "" {
		return owner, nil
	}
	return "", chk.NoLeaseOwnerErr
}
