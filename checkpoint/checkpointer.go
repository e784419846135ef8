package checkpoint

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	chk "github.com/vmware/vmware-go-kcl-v2/clientlibrary/checkpoint"
)

// Checkpointer implements the KCL's chk.Checkpointer with conditional writes. It is safe for
// concurrent use by the KCL's event loop and all shard consumers of one worker.
//
// It keeps the KCL's in-memory shard status consistent with the lease table and with the shard
// consumers this worker runs, because the library acts on that status without checking it:
//
//   - The status names this worker as owner only while one of its consumers holds the shard,
//     from the take to the release. A row naming this worker with no consumer behind it (a
//     release that failed, a take that committed but lost its response) reads as unowned, so the
//     event loop takes the shard again instead of believing it already runs it; and while a
//     consumer holds it, the event loop cannot start a second one.
//   - The checkpoint in the status is the row's: read as it is (no checkpoint included), and put
//     back to the row's after a failed write. The library sets SHARD_END in memory before the
//     write and never takes a shard whose status says SHARD_END again.
//   - A write whose outcome is unknown (an error other than a failed condition: the request may
//     have committed with its response lost) is resolved by reading the row back.
type Checkpointer struct {
	cfg Config

	mu     sync.Mutex
	leases map[string]localLease // shard ID → our lease, while one of our consumers holds it

	viewMu sync.Mutex
	view   map[string]Lease // the last Scan, by shard ID
	viewAt time.Time        // when it was read
}

// localLease is this worker's lease of a shard, present from a successful take until the shard
// consumer's release (RemoveLeaseOwner).
type localLease struct {
	until   time.Time // lease timeout we last wrote
	revoked bool      // given up or lost: Owns is false and renewals fail until the release
}

var _ chk.Checkpointer = (*Checkpointer)(nil)

// New returns a Checkpointer; it does no I/O until Init.
func New(cfg Config) (*Checkpointer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Checkpointer{cfg: cfg.withDefaults(), leases: map[string]localLease{}}, nil
}

func (c *Checkpointer) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), c.cfg.CallTimeout)
}

// Init checks that the lease table exists. Shardline creates its tables with `shardline setup`
// (or Terraform) rather than from every worker.
func (c *Checkpointer) Init() error {
	ctx, cancel := c.ctx()
	defer cancel()
	if _, err := c.cfg.Client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(c.cfg.TableName)}); err != nil {
		return fmt.Errorf("lease table %s: %w (create it with `shardline setup`)", c.cfg.TableName, err)
	}
	return nil
}

// Owns reports whether this worker holds the shard's lease with at least the safety margin left,
// according to its own last successful take or renewal. No I/O.
func (c *Checkpointer) Owns(shardID string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	l, ok := c.leases[shardID]
	return ok && !l.revoked && c.cfg.Now().Before(l.until.Add(-c.cfg.SafetyMargin))
}

// Held returns how many shards this worker owns now (see Owns).
func (c *Checkpointer) Held() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	now := c.cfg.Now()
	for _, l := range c.leases {
		if !l.revoked && now.Before(l.until.Add(-c.cfg.SafetyMargin)) {
			n++
		}
	}
	return n
}

// Revoke makes this worker give up the shard: Owns reports false at once and the next renewal
// fails, so the KCL stops the shard consumer and releases the lease.
func (c *Checkpointer) Revoke(shardID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if l, ok := c.leases[shardID]; ok {
		l.revoked = true
		c.leases[shardID] = l
	}
}

func (c *Checkpointer) forget(shardID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.leases, shardID)
}

// local returns this worker's lease of a shard, if one of its consumers holds the shard.
func (c *Checkpointer) local(shardID string) (localLease, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	l, ok := c.leases[shardID]
	return l, ok
}

// ownerForKCL is the owner to put into the KCL's shard status for a row naming rowOwner, given
// the status' current owner. The KCL never starts a consumer for a shard whose status names this
// worker, so that may come only from this worker's own take: a row naming this worker with no
// consumer of this worker holding the shard reads as unowned (the event loop takes it again);
// while a consumer holds it, the status is left as the KCL and the consumer's take set it.
func (c *Checkpointer) ownerForKCL(shardID, rowOwner, current string) string {
	if rowOwner != c.cfg.WorkerID {
		return rowOwner
	}
	if _, held := c.local(shardID); held {
		return current
	}
	return ""
}

// heldIDs returns the shards this worker's consumers hold and have not given up.
func (c *Checkpointer) heldIDs() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	ids := make([]string, 0, len(c.leases))
	for id, l := range c.leases {
		if !l.revoked {
			ids = append(ids, id)
		}
	}
	return ids
}
