package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	chk "github.com/vmware/vmware-go-kcl-v2/clientlibrary/checkpoint"
)

// Attribute names of the lease table. The first six are the library's schema; the rest are
// shardline's additions, ignored by the library.
const (
	AttrShardID         = chk.LeaseKeyKey       // "ShardID", the hash key
	AttrOwner           = chk.LeaseOwnerKey     // "AssignedTo"
	AttrLeaseTimeout    = chk.LeaseTimeoutKey   // "LeaseTimeout", RFC 3339 UTC (see timeLayout)
	AttrCheckpoint      = chk.SequenceNumberKey // "Checkpoint"
	AttrParent          = chk.ParentShardIdKey  // "ParentShardId"
	AttrClaimRequest    = chk.ClaimRequestKey   // "ClaimRequest"
	AttrCheckpointOrder = "CheckpointOrder"     // Order(Checkpoint), for forward-only writes
	AttrClaimTime       = "ClaimTime"           // when ClaimRequest was placed, RFC 3339 UTC (see timeLayout)
	AttrLeaseCounter    = "LeaseCounter"        // number of times the lease changed hands or was renewed
)

// Lease is one row of the lease table.
type Lease struct {
	ShardID      string
	Owner        string
	LeaseTimeout time.Time
	Checkpoint   string
	Parent       string
	ClaimRequest string
	ClaimTime    time.Time // when ClaimRequest was placed
	Counter      int64
}

func leaseOf(item map[string]types.AttributeValue) Lease {
	var counter int64
	if n, ok := item[AttrLeaseCounter].(*types.AttributeValueMemberN); ok {
		counter, _ = strconv.ParseInt(n.Value, 10, 64)
	}
	return Lease{
		ShardID:      attr(item, AttrShardID),
		Owner:        attr(item, AttrOwner),
		LeaseTimeout: parseTime(attr(item, AttrLeaseTimeout)),
		Checkpoint:   attr(item, AttrCheckpoint),
		Parent:       attr(item, AttrParent),
		ClaimRequest: attr(item, AttrClaimRequest),
		ClaimTime:    parseTime(attr(item, AttrClaimTime)),
		Counter:      counter,
	}
}

// Get reads one shard's lease row (consistently); found is false when the shard has none yet.
func (c *Checkpointer) Get(ctx context.Context, shardID string) (Lease, bool, error) {
	item, err := c.getItem(ctx, shardID)
	if err != nil || item == nil {
		return Lease{}, false, err
	}
	return leaseOf(item), true, nil
}

// getItem reads one shard's lease item (consistently) within CallTimeout; nil if it has none.
func (c *Checkpointer) getItem(ctx context.Context, shardID string) (map[string]types.AttributeValue, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.CallTimeout)
	defer cancel()
	out, err := c.cfg.Client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(c.cfg.TableName),
		ConsistentRead: aws.Bool(true),
		Key:            shardKey(shardID),
	})
	if err != nil {
		return nil, fmt.Errorf("get lease %s: %w", shardID, err)
	}
	return out.Item, nil
}

// updateRow makes the conditional write u on shardID's item within CallTimeout. A refused
// condition is reported as an error that conditionFailed recognises.
func (c *Checkpointer) updateRow(ctx context.Context, shardID string, u rowUpdate) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.CallTimeout)
	defer cancel()
	_, err := c.cfg.Client.UpdateItem(ctx, u.input(c.cfg.TableName, shardID))
	return err
}

// conditionFailed reports whether err is DynamoDB refusing a write's condition.
func conditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}

func shardKey(shardID string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{AttrShardID: str(shardID)}
}

func str(s string) *types.AttributeValueMemberS { return &types.AttributeValueMemberS{Value: s} }

func attr(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}
