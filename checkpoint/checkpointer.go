package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
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
	AttrLeaseTimeout    = chk.LeaseTimeoutKey   // "LeaseTimeout", RFC 3339 UTC (see timeLayout)
	AttrCheckpoint      = chk.SequenceNumberKey // "Checkpoint"
	AttrParent          = chk.ParentShardIdKey  // "ParentShardId"
	AttrClaimRequest    = chk.ClaimRequestKey   // "ClaimRequest"
	AttrCheckpointOrder = "CheckpointOrder"     // Order(Checkpoint), for forward-only writes
	AttrClaimTime       = "ClaimTime"           // when ClaimRequest was placed, RFC 3339 UTC (see timeLayout)
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

	// Topology, if set, turns on planned lease taking (see PlanTakes): GetLease takes a shard
	// only when this worker's plan allows it, so that parents are taken before their children
	// and no worker takes more than its fair share of free leases. Renewals are never planned,
	// and whenever the plan cannot be made (no shard list, no lease table) the take goes ahead:
	// the plan only withholds takes, the conditional write still decides every one. Nil: any
	// free lease is taken, as the library does.
	Topology Topology
	// ViewMaxAge, if positive, lets FetchCheckpoint answer for a shard this worker does not
	// hold, ListActiveWorkers answer, and planned taking decide, from the last lease-table Scan
	// while it is younger than this: one Scan per event-loop pass instead of two reads per
	// shard. Set it below the pause between passes, so that each pass reads the table afresh.
	// Zero: read every time.
	ViewMaxAge time.Duration

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
	case c.LeaseDuration < 0, c.SafetyMargin < 0, c.ClaimTimeout < 0, c.CallTimeout < 0, c.ViewMaxAge < 0:
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
//
// While a consumer of this worker holds the shard, only its renewal can succeed (the status
// names this worker): the event loop cannot start a second consumer for it. A failed renewal
// leaves the shard held, Owns false, until the consumer's release.
func (c *Checkpointer) GetLease(shard *par.ShardStatus, worker string) error {
	l, renewal := c.local(shard.ID)
	if renewal {
		switch {
		case l.revoked:
			return &LeaseError{Shard: shard.ID, Reason: "given up or lost; released when its consumer ends"}
		case shard.GetLeaseOwner() != worker:
			c.Revoke(shard.ID)
			return &LeaseError{Shard: shard.ID, Reason: "no longer ours, or its consumer in this worker is ending"}
		}
	}
	if !renewal {
		if reason := c.planRefusal(shard.ID); reason != "" {
			return &LeaseError{Shard: shard.ID, Reason: reason}
		}
	}
	refuse := func(reason string) error {
		if renewal {
			c.Revoke(shard.ID)
		}
		return &LeaseError{Shard: shard.ID, Reason: reason}
	}
	item, err := c.getItem(shard.ID)
	if err != nil {
		return err
	}
	now := c.cfg.Now().UTC()
	owner, prevTimeout := attr(item, AttrOwner), attr(item, AttrLeaseTimeout)
	if owner != "" && owner != worker && now.Before(parseTime(prevTimeout)) {
		return refuse("held by " + owner)
	}
	if renewal && owner != worker {
		return refuse("taken over by " + owner)
	}
	claim := attr(item, AttrClaimRequest)
	claimLive := claim != "" && now.Before(parseTime(attr(item, AttrClaimTime)).Add(c.cfg.ClaimTimeout))
	if claimLive && claim != worker {
		return refuse("claimed by " + claim)
	}

	until := now.Add(c.cfg.LeaseDuration)
	untilS := formatTime(until)
	set := "SET #owner = :me, #timeout = :until ADD #counter :one"
	names := map[string]string{"#owner": AttrOwner, "#timeout": AttrLeaseTimeout, "#counter": AttrLeaseCounter}
	values := map[string]types.AttributeValue{
		":me":    str(worker),
		":until": str(untilS),
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
		// The write may have committed: with an unknown outcome, or with a failed condition
		// that an SDK retry of our own committed write met (its response was lost). Our lease
		// timeout is unique to this write: if the row holds it, the lease is ours. If we cannot
		// tell, report the error; should the write land, the row names us without a consumer and
		// the event loop takes the shard again.
		var ccf *types.ConditionalCheckFailedException
		got, rerr := c.getItem(shard.ID)
		ours := rerr == nil && attr(got, AttrOwner) == worker && attr(got, AttrLeaseTimeout) == untilS
		switch {
		case !ours && errors.As(err, &ccf):
			return refuse("changed while we tried to take it")
		case !ours:
			return fmt.Errorf("take lease %s: %w", shard.ID, err)
		}
		c.cfg.Logger.Info("lease write failed but had committed (read back)", slog.String("shard", shard.ID), slog.String("error", err.Error()))
	}
	c.mu.Lock()
	cur, held := c.leases[shard.ID]
	if renewal && !held {
		// The consumer ended and released the shard while this renewal was in flight: nobody
		// runs it. Should the row name us now, it reads as unowned and the event loop takes it.
		c.mu.Unlock()
		return &LeaseError{Shard: shard.ID, Reason: "released while renewing"}
	}
	cur.until = until // a Revoke since the check above still holds
	c.leases[shard.ID] = cur
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

// planRefusal returns why this worker's plan withholds the take of shardID now, or "" if the
// plan allows it or cannot be made (see Config.Topology).
func (c *Checkpointer) planRefusal(shardID string) string {
	if c.cfg.Topology == nil {
		return ""
	}
	ctx, cancel := c.ctx()
	defer cancel()
	shards, err := c.cfg.Topology.Shards(ctx)
	if err != nil {
		c.cfg.Logger.Debug("lease plan: no shard list; taking unplanned", slog.String("error", err.Error()))
		return ""
	}
	if !slices.ContainsFunc(shards, func(s Shard) bool { return s.ID == shardID }) {
		return ""
	}
	leases, err := c.recentLeases(ctx)
	if err != nil {
		c.cfg.Logger.Debug("lease plan: no lease table; taking unplanned", slog.String("error", err.Error()))
		return ""
	}
	p := PlanTakes(PlanInput{
		Worker: c.cfg.WorkerID, Now: c.cfg.Now(), ClaimTimeout: c.cfg.ClaimTimeout,
		Shards: shards, Leases: leases, Held: c.heldIDs(),
	})
	switch {
	case p.Allows(shardID):
		return ""
	case slices.Contains(p.Blocked, shardID):
		return "a parent shard has not reached SHARD_END"
	case len(p.Take) == 0:
		return fmt.Sprintf("not taken now (fair share %d of %d active shards over %d workers)", p.FairShare, p.Active, p.Live)
	default:
		return "other shards come first"
	}
}

// claimWithheld returns why claimer should place no claim now, or "" if it may (or the lease
// table cannot be read: the claim's own condition still decides).
func (c *Checkpointer) claimWithheld(claimer string) string {
	ctx, cancel := c.ctx()
	defer cancel()
	leases, err := c.recentLeases(ctx)
	if err != nil {
		return ""
	}
	now := c.cfg.Now()
	for _, l := range leases {
		if l.ClaimRequest == claimer && l.Owner != claimer && now.Before(l.ClaimTime.Add(c.cfg.ClaimTimeout)) {
			return "claim on " + l.ShardID + " still pending"
		}
	}
	if c.cfg.Topology == nil {
		return ""
	}
	shards, err := c.cfg.Topology.Shards(ctx)
	if err != nil {
		return ""
	}
	p := PlanTakes(PlanInput{Worker: claimer, Now: now, ClaimTimeout: c.cfg.ClaimTimeout, Shards: shards, Leases: leases, Held: c.heldIDs()})
	if held := len(c.heldIDs()); held >= p.FairShare {
		return fmt.Sprintf("holds %d, its fair share", held)
	}
	return ""
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
	if err == nil {
		return nil
	}
	var ccf *types.ConditionalCheckFailedException
	refused := errors.As(err, &ccf)
	item, rerr := c.getItem(shard.ID)
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
		item, err := c.getItem(shard.ID)
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
// owns it by now. The KCL calls it when a shard consumer ends: the shard stops being held by
// this worker (after the write, so that the event loop cannot take it again meanwhile). A write
// whose outcome is unknown is read back; if the row still names this worker, the error is
// returned and the event loop takes the shard again (see ownerForKCL).
func (c *Checkpointer) RemoveLeaseOwner(shardID string) error {
	c.Revoke(shardID)
	defer c.forget(shardID)
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
		if item, rerr := c.getItem(shardID); rerr != nil || attr(item, AttrOwner) == c.cfg.WorkerID {
			return fmt.Errorf("release lease %s: %w", shardID, err)
		}
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
// the KCL's lease balancing, and brings every listed shard's status up to date with its row (see
// ownerForKCL for the owner). Like the library it returns chk.ErrShardNotAssigned while any
// unfinished shard has no live owner, so that free shards are taken before any is stolen.
//
// With ViewMaxAge set it answers from the last Scan while that is younger than ViewMaxAge (the
// pass's own, made by its first FetchCheckpoint): its claims are conditional writes, and the
// statuses of shards this worker holds are not taken from the rows.
func (c *Checkpointer) ListActiveWorkers(shards map[string]*par.ShardStatus) (map[string][]*par.ShardStatus, error) {
	leases, err := c.recentLeases(context.Background())
	if err != nil {
		return nil, err
	}
	now := c.cfg.Now()
	workers := map[string][]*par.ShardStatus{}
	unassigned := false
	for _, l := range leases {
		shard, ok := shards[l.ShardID]
		if !ok {
			continue
		}
		_, held := c.local(l.ShardID)
		shard.Mux.Lock()
		if !held {
			shard.AssignedTo = c.ownerForKCL(l.ShardID, l.Owner, shard.AssignedTo)
			shard.LeaseTimeout = l.LeaseTimeout
			shard.ClaimRequest = l.ClaimRequest
			shard.Checkpoint = l.Checkpoint
		}
		// A consumer's status is its own: the library sets the checkpoint there and then writes
		// it from there, and its renewal reads the row itself (a takeover is found there). The
		// row may also predate this worker's take in the same pass (a shared Scan): naming the
		// previous owner in the status would make the next renewal give the shard up.
		owner, timeout := shard.AssignedTo, shard.LeaseTimeout
		shard.Mux.Unlock()
		if l.Checkpoint == chk.ShardEnd {
			continue
		}
		if owner == "" || !now.Before(timeout) {
			unassigned = true
			continue
		}
		workers[owner] = append(workers[owner], shard)
	}
	if unassigned {
		return nil, chk.ErrShardNotAssigned
	}
	return workers, nil
}

// ClaimShard asks the current owner of a shard to hand it to claimer: the owner's next renewal
// fails, it releases the lease, and only the claimer may take it until the claim times out.
//
// A worker has at most one claim pending at a time, and claims nothing once it holds its fair
// share (see PlanTakes; with Config.Topology set): while that is so, ClaimShard places no claim
// and returns nil, so that the library's rebalance waits. The library means to steal one shard
// at a time, but its guard is reset whenever its map iteration meets a shard without our claim
// before the one with it; with a pass every few hundred milliseconds it would claim every shard
// of the other worker before the first is released, and the two would trade shards back.
func (c *Checkpointer) ClaimShard(shard *par.ShardStatus, claimer string) error {
	owner := shard.GetLeaseOwner()
	if owner == "" {
		return &LeaseError{Shard: shard.ID, Reason: "no owner to claim from"}
	}
	if reason := c.claimWithheld(claimer); reason != "" {
		c.cfg.Logger.Debug("lease claim withheld", slog.String("shard", shard.ID), slog.String("reason", reason))
		return nil
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
			":now":     str(formatTime(now)),
			":owner":   str(owner),
			":stale":   str(formatTime(now.Add(-c.cfg.ClaimTimeout))),
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
