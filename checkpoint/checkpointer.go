package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	chk "github.com/vmware/vmware-go-kcl-v2/clientlibrary/checkpoint"
	par "github.com/vmware/vmware-go-kcl-v2/clientlibrary/partition"
)

// Attribute names of the lease table. The first six are the library's schema; the rest are
// shardline's additions, ignored by the library.
const (
	AttrShardID         = chk.LeaseKeyKey       // "ShardID", the hash key
	AttrOwner           = chk.LeaseOwnerKey     // "AssignedTo"
	AttrLeaseTimeout    = chk.LeaseTimeoutKey   // "LeaseTimeout", RFC 3339 UTC
	AttrCheckpoint      = chk.SequenceNumberKey // "Checkpoint"
	AttrParent          = chk.ParentShardIdKey  // "ParentShardId"
	AttrClaimRequest    = chk.ClaimRequestKey   // "ClaimRequest"
	AttrCheckpointOrder = "CheckpointOrder"     // Order(Checkpoint), for forward-only writes
	AttrClaimTime       = "ClaimTime"           // when ClaimRequest was placed, RFC 3339 UTC
	AttrLeaseCounter    = "LeaseCounter"        // number of times the lease changed hands or was renewed
)

// DynamoDB is the part of *dynamodb.Client the checkpointer uses.
type DynamoDB interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
}

// Config configures a Checkpointer. Zero values of the optional fields take the documented
// defaults.
type Config struct {
	Client    DynamoDB // required
	TableName string   // required: the KCL lease table
	WorkerID  string   // required: this worker's lease owner name

	// LeaseDuration is how long a taken or renewed lease lasts. Default 10s (the KCL's
	// FailoverTimeMillis); must match the KCL configuration.
	LeaseDuration time.Duration
	// SafetyMargin is how long before its lease expires Owns already reports false, so that
	// work stops before another worker may take the shard. Default LeaseDuration/5.
	SafetyMargin time.Duration
	// ClaimTimeout is how long a steal claim (ClaimRequest) blocks other workers. Default
	// 3 × LeaseDuration.
	ClaimTimeout time.Duration
	// CallTimeout bounds each DynamoDB call (the library's interface carries no context).
	// Default 5s.
	CallTimeout time.Duration

	Logger *slog.Logger // default slog.Default()
	// Now is the clock; default time.Now. Tests inject their own.
	Now func() time.Time
}

// Validate reports the first missing or inconsistent field.
func (c Config) Validate() error {
	switch {
	case c.Client == nil:
		return errors.New("checkpoint: Client is required")
	case c.TableName == "":
		return errors.New("checkpoint: TableName is required")
	case c.WorkerID == "":
		return errors.New("checkpoint: WorkerID is required")
	case c.LeaseDuration < 0, c.SafetyMargin < 0, c.ClaimTimeout < 0, c.CallTimeout < 0:
		return errors.New("checkpoint: durations must not be negative")
	}
	if c.LeaseDuration > 0 && c.SafetyMargin >= c.LeaseDuration {
		return errors.New("checkpoint: SafetyMargin must be shorter than LeaseDuration")
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.LeaseDuration == 0 {
		c.LeaseDuration = 10 * time.Second
	}
	if c.SafetyMargin == 0 {
		c.SafetyMargin = c.LeaseDuration / 5
	}
	if c.ClaimTimeout == 0 {
		c.ClaimTimeout = 3 * c.LeaseDuration
	}
	if c.CallTimeout == 0 {
		c.CallTimeout = 5 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// ErrLeaseLost is returned (wrapped) when a write failed because this worker no longer owns the
// shard's lease.
var ErrLeaseLost = errors.New("lease lost")

// LeaseError says why a lease was not taken, renewed or written under. It matches both
// ErrLeaseLost (errors.Is) and the library's chk.ErrLeaseNotAcquired (errors.As), which the KCL
// worker treats as the quiet "someone else has it" case.
type LeaseError struct {
	Shard  string
	Reason string
}

func (e *LeaseError) Error() string { return fmt.Sprintf("lease %s: %s", e.Shard, e.Reason) }

// Is makes errors.Is(err, ErrLeaseLost) true.
func (e *LeaseError) Is(target error) bool { return target == ErrLeaseLost }

// As lets the KCL recognise the error as chk.ErrLeaseNotAcquired.
func (e *LeaseError) As(target any) bool {
	if t, ok := target.(*chk.ErrLeaseNotAcquired); ok {
		*t = chk.ErrLeaseNotAcquired{}
		return true
	}
	return false
}

// Checkpointer implements the KCL's chk.Checkpointer with conditional writes. It is safe for
// concurrent use by the KCL's event loop and all shard consumers of one worker.
type Checkpointer struct {
	cfg Config

	mu     sync.Mutex
	leases map[string]localLease // shard ID → what we know of our own lease
}

type localLease struct {
	until   time.Time // lease timeout we last wrote
	revoked bool      // the processor gave the shard up: fail the next renewal
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
	l := c.leases[shardID]
	l.revoked = true
	c.leases[shardID] = l
}

func (c *Checkpointer) forget(shardID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.leases, shardID)
}

func (c *Checkpointer) getItem(shardID string) (map[string]types.AttributeValue, error) {
	ctx, cancel := c.ctx()
	defer cancel()
	out, err := c.cfg.Client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(c.cfg.TableName),
		ConsistentRead: aws.Bool(true),
		Key:            map[string]types.AttributeValue{AttrShardID: str(shardID)},
	})
	if err != nil {
		return nil, fmt.Errorf("get lease %s: %w", shardID, err)
	}
	return out.Item, nil
}

// GetLease takes or renews the lease of a shard for worker. It succeeds only if the lease is
// free, expired, or ours, and not claimed by another worker; the write is a compare-and-set on
// the owner and lease timeout read just before, so two workers never both succeed.
func (c *Checkpointer) GetLease(shard *par.ShardStatus, worker string) error {
	renewal := shard.GetLeaseOwner() == worker
	if renewal {
		c.mu.Lock()
		revoked := c.leases[shard.ID].revoked
		c.mu.Unlock()
		if revoked {
			c.forget(shard.ID)
			return &LeaseError{Shard: shard.ID, Reason: "given up by the record processor"}
		}
	}
	item, err := c.getItem(shard.ID)
	if err != nil {
		return err
	}
	now := c.cfg.Now().UTC()
	owner, prevTimeout := attr(item, AttrOwner), attr(item, AttrLeaseTimeout)
	expiry, _ := time.Parse(time.RFC3339Nano, prevTimeout)
	if owner != "" && owner != worker && now.Before(expiry) {
		return &LeaseError{Shard: shard.ID, Reason: "held by " + owner}
	}
	if renewal && owner != worker {
		c.forget(shard.ID)
		return &LeaseError{Shard: shard.ID, Reason: "taken over by " + owner}
	}
	claim := attr(item, AttrClaimRequest)
	claimTime, _ := time.Parse(time.RFC3339Nano, attr(item, AttrClaimTime))
	claimLive := claim != "" && now.Before(claimTime.Add(c.cfg.ClaimTimeout))
	if claimLive && claim != worker {
		if renewal {
			c.forget(shard.ID)
		}
		return &LeaseError{Shard: shard.ID, Reason: "claimed by " + claim}
	}

	until := now.Add(c.cfg.LeaseDuration)
	set := "SET #owner = :me, #timeout = :until ADD #counter :one"
	names := map[string]string{"#owner": AttrOwner, "#timeout": AttrLeaseTimeout, "#counter": AttrLeaseCounter}
	values := map[string]types.AttributeValue{
		":me":    str(worker),
		":until": str(until.Format(time.RFC3339Nano)),
		":one":   &types.AttributeValueMemberN{Value: "1"},
	}
	var cond string
	if owner == "" {
		cond = "attribute_not_exists(#owner)"
	} else {
		cond = "#owner = :prev_owner AND #timeout = :prev_timeout"
		values[":prev_owner"] = str(owner)
		values[":prev_timeout"] = str(prevTimeout)
	}
	if shard.ParentShardId != "" && attr(item, AttrParent) == "" {
		set = "SET #owner = :me, #timeout = :until, #parent = :parent ADD #counter :one"
		names["#parent"] = AttrParent
		values[":parent"] = str(shard.ParentShardId)
	}
	update := set
	if claim != "" {
		// Our own claim is fulfilled, or someone's claim has expired: clear it.
		update += " REMOVE #claim, #claim_time"
		names["#claim"] = AttrClaimRequest
		names["#claim_time"] = AttrClaimTime
	}
	ctx, cancel := c.ctx()
	defer cancel()
	_, err = c.cfg.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(c.cfg.TableName),
		Key:                       map[string]types.AttributeValue{AttrShardID: str(shard.ID)},
		UpdateExpression:          aws.String(update),
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	})
	if err != nil {
		if renewal {
			c.forget(shard.ID)
		}
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			return &LeaseError{Shard: shard.ID, Reason: "changed while we tried to take it"}
		}
		return fmt.Errorf("take lease %s: %w", shard.ID, err)
	}
	c.mu.Lock()
	c.leases[shard.ID] = localLease{until: until}
	c.mu.Unlock()
	shard.Mux.Lock()
	shard.AssignedTo = worker
	shard.LeaseTimeout = until
	shard.ClaimRequest = ""
	shard.Mux.Unlock()
	if !renewal {
		c.cfg.Logger.Info("lease taken", slog.String("shard", shard.ID), slog.String("previous_owner", owner))
	}
	return nil
}

// CheckpointSequence records shard.Checkpoint (a sequence number or SHARD_END) as the shard's
// checkpoint, only if this worker still owns the lease and the checkpoint does not move back.
// A refusal is a *LeaseError wrapping ErrLeaseLost.
func (c *Checkpointer) CheckpointSequence(shard *par.ShardStatus) error {
	cp := shard.GetCheckpoint()
	order, err := Order(cp)
	if err != nil {
		return err
	}
	ctx, cancel := c.ctx()
	defer cancel()
	_, err = c.cfg.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           aws.String(c.cfg.TableName),
		Key:                 map[string]types.AttributeValue{AttrShardID: str(shard.ID)},
		UpdateExpression:    aws.String("SET #cp = :cp, #order = :order"),
		ConditionExpression: aws.String("#owner = :me AND (attribute_not_exists(#order) OR #order <= :order)"),
		ExpressionAttributeNames: map[string]string{
			"#cp": AttrCheckpoint, "#order": AttrCheckpointOrder, "#owner": AttrOwner,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":cp": str(cp), ":order": str(order), ":me": str(c.cfg.WorkerID),
		},
	})
	if err != nil {
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			c.Revoke(shard.ID)
			return &LeaseError{Shard: shard.ID, Reason: "checkpoint " + cp + " refused: not the owner or it would move backwards"}
		}
		return fmt.Errorf("checkpoint %s at %s: %w", shard.ID, cp, err)
	}
	return nil
}

// FetchCheckpoint loads the shard's checkpoint, owner, lease timeout and claim into shard. It
// returns chk.ErrSequenceIDNotFound when the shard has no checkpoint yet.
func (c *Checkpointer) FetchCheckpoint(shard *par.ShardStatus) error {
	item, err := c.getItem(shard.ID)
	if err != nil {
		return err
	}
	timeout, _ := time.Parse(time.RFC3339Nano, attr(item, AttrLeaseTimeout))
	shard.Mux.Lock()
	shard.AssignedTo = attr(item, AttrOwner)
	shard.LeaseTimeout = timeout
	shard.ClaimRequest = attr(item, AttrClaimRequest)
	cp := attr(item, AttrCheckpoint)
	if cp != "" {
		shard.Checkpoint = cp
	}
	shard.Mux.Unlock()
	if cp == "" {
		return chk.ErrSequenceIDNotFound
	}
	return nil
}

// RemoveLeaseInfo deletes the lease item of a shard that no longer exists in the stream.
func (c *Checkpointer) RemoveLeaseInfo(shardID string) error {
	c.forget(shardID)
	ctx, cancel := c.ctx()
	defer cancel()
	_, err := c.cfg.Client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(c.cfg.TableName),
		Key:       map[string]types.AttributeValue{AttrShardID: str(shardID)},
	})
	if err != nil {
		return fmt.Errorf("remove lease %s: %w", shardID, err)
	}
	return nil
}

// RemoveLeaseOwner releases this worker's lease on a shard; it does nothing if another worker
// owns it by now.
func (c *Checkpointer) RemoveLeaseOwner(shardID string) error {
	c.forget(shardID)
	ctx, cancel := c.ctx()
	defer cancel()
	_, err := c.cfg.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(c.cfg.TableName),
		Key:                       map[string]types.AttributeValue{AttrShardID: str(shardID)},
		UpdateExpression:          aws.String("REMOVE #owner"),
		ConditionExpression:       aws.String("#owner = :me"),
		ExpressionAttributeNames:  map[string]string{"#owner": AttrOwner},
		ExpressionAttributeValues: map[string]types.AttributeValue{":me": str(c.cfg.WorkerID)},
	})
	if err != nil {
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			return nil
		}
		return fmt.Errorf("release lease %s: %w", shardID, err)
	}
	c.cfg.Logger.Info("lease released", slog.String("shard", shardID))
	return nil
}

// GetLeaseOwner returns the current owner of a shard's lease, or chk.NoLeaseOwnerErr.
func (c *Checkpointer) GetLeaseOwner(shardID string) (string, error) {
	item, err := c.getItem(shardID)
	if err != nil {
		return "", err
	}
	if owner := attr(item, AttrOwner); owner != "" {
		return owner, nil
	}
	return "", chk.NoLeaseOwnerErr
}

// ListActiveWorkers maps each worker holding an unexpired lease to its unfinished shards, for
// the KCL's lease balancing. Like the library it returns chk.ErrShardNotAssigned while any
// unfinished shard has no live owner, so that free shards are taken before any is stolen.
func (c *Checkpointer) ListActiveWorkers(shards map[string]*par.ShardStatus) (map[string][]*par.ShardStatus, error) {
	leases, err := c.Scan(context.Background())
	if err != nil {
		return nil, err
	}
	now := c.cfg.Now()
	workers := map[string][]*par.ShardStatus{}
	for _, l := range leases {
		shard, ok := shards[l.ShardID]
		if !ok || l.Checkpoint == chk.ShardEnd {
			continue
		}
		shard.Mux.Lock()
		shard.AssignedTo = l.Owner
		shard.LeaseTimeout = l.LeaseTimeout
		shard.ClaimRequest = l.ClaimRequest
		if l.Checkpoint != "" {
			shard.Checkpoint = l.Checkpoint
		}
		shard.Mux.Unlock()
		if l.Owner == "" || !now.Before(l.LeaseTimeout) {
			return nil, chk.ErrShardNotAssigned
		}
		workers[l.Owner] = append(workers[l.Owner], shard)
	}
	return workers, nil
}

// ClaimShard asks the current owner of a shard to hand it to claimer: the owner's next renewal
// fails, it releases the lease, and only the claimer may take it until the claim times out.
func (c *Checkpointer) ClaimShard(shard *par.ShardStatus, claimer string) error {
	owner := shard.GetLeaseOwner()
	if owner == "" {
		return &LeaseError{Shard: shard.ID, Reason: "no owner to claim from"}
	}
	now := c.cfg.Now().UTC()
	ctx, cancel := c.ctx()
	defer cancel()
	_, err := c.cfg.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           aws.String(c.cfg.TableName),
		Key:                 map[string]types.AttributeValue{AttrShardID: str(shard.ID)},
		UpdateExpression:    aws.String("SET #claim = :claimer, #claim_time = :now"),
		ConditionExpression: aws.String("#owner = :owner AND (attribute_not_exists(#claim) OR #claim_time < :stale)"),
		ExpressionAttributeNames: map[string]string{
			"#claim": AttrClaimRequest, "#claim_time": AttrClaimTime, "#owner": AttrOwner,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":claimer": str(claimer),
			":now":     str(now.Format(time.RFC3339Nano)),
			":owner":   str(owner),
			":stale":   str(now.Add(-c.cfg.ClaimTimeout).Format(time.RFC3339Nano)),
		},
	})
	if err != nil {
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
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

func str(s string) *types.AttributeValueMemberS { return &types.AttributeValueMemberS{Value: s} }

func attr(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}
