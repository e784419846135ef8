package checkpoint

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
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

// Scan reads every lease of the table (consistently, page by page), sorted by shard ID.
func (c *Checkpointer) Scan(ctx context.Context) ([]Lease, error) {
	ctx, cancel := context.WithTimeout(ctx, 4*c.cfg.CallTimeout)
	defer cancel()
	var leases []Lease
	p := dynamodb.NewScanPaginator(c.cfg.Client, &dynamodb.ScanInput{
		TableName:      aws.String(c.cfg.TableName),
		ConsistentRead: aws.Bool(true),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("scan lease table %s: %w", c.cfg.TableName, err)
		}
		for _, item := range page.Items {
			leases = append(leases, leaseOf(item))
		}
	}
	sort.Slice(leases, func(i, j int) bool { return leases[i].ShardID < leases[j].ShardID })
	c.remember(leases)
	return leases, nil
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
	ctx, cancel := context.WithTimeout(ctx, c.cfg.CallTimeout)
	defer cancel()
	out, err := c.cfg.Client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(c.cfg.TableName),
		ConsistentRead: aws.Bool(true),
		Key:            map[string]types.AttributeValue{AttrShardID: str(shardID)},
	})
	if err != nil {
		return Lease{}, false, fmt.Errorf("get lease %s: %w", shardID, err)
	}
	if out.Item == nil {
		return Lease{}, false, nil
	}
	return leaseOf(out.Item), true, nil
}
