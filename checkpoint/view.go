package checkpoint

import (
	"context"
	"fmt"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

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

// remember keeps leases (a whole Scan) as the view.
func (c *Checkpointer) remember(leases []Lease) {
	view := make(map[string]Lease, len(leases))
	for _, l := range leases {
		view[l.ShardID] = l
	}
	c.viewMu.Lock()
	c.view, c.viewAt = view, c.cfg.Now()
	c.viewMu.Unlock()
}

// recentView returns the view if it is younger than ViewMaxAge.
func (c *Checkpointer) recentView() (map[string]Lease, bool) {
	if c.cfg.ViewMaxAge <= 0 {
		return nil, false
	}
	c.viewMu.Lock()
	defer c.viewMu.Unlock()
	if c.view == nil || c.cfg.Now().Sub(c.viewAt) >= c.cfg.ViewMaxAge {
		return nil, false
	}
	return c.view, true
}

// viewOf returns the lease table as of a Scan younger than ViewMaxAge, scanning if there is none.
func (c *Checkpointer) viewOf(ctx context.Context) (map[string]Lease, error) {
	if v, ok := c.recentView(); ok {
		return v, nil
	}
	if _, err := c.Scan(ctx); err != nil {
		return nil, err
	}
	c.viewMu.Lock()
	defer c.viewMu.Unlock()
	return c.view, nil
}

// recentLeases is viewOf as a list.
func (c *Checkpointer) recentLeases(ctx context.Context) ([]Lease, error) {
	v, err := c.viewOf(ctx)
	if err != nil {
		return nil, err
	}
	leases := make([]Lease, 0, len(v))
	for _, l := range v {
		leases = append(leases, l)
	}
	return leases, nil
}
