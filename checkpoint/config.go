package checkpoint

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// DynamoDB is the part of *dynamodb.Client the checkpointer uses.
type DynamoDB interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
}

// DefaultLeaseDuration is the lease duration of a Config that sets none: the KCL's default
// FailoverTimeMillis.
const DefaultLeaseDuration = 10 * time.Second

// Config configures a Checkpointer. Zero values of the optional fields take the documented
// defaults.
type Config struct {
	Client    DynamoDB // required
	TableName string   // required: the KCL lease table
	WorkerID  string   // required: this worker's lease owner name

	// LeaseDuration is how long a taken or renewed lease lasts. Default DefaultLeaseDuration;
	// must match the KCL configuration (FailoverTimeMillis).
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
	c.LeaseDuration = cmp.Or(c.LeaseDuration, DefaultLeaseDuration)
	c.SafetyMargin = cmp.Or(c.SafetyMargin, c.LeaseDuration/5)
	c.ClaimTimeout = cmp.Or(c.ClaimTimeout, 3*c.LeaseDuration)
	c.CallTimeout = cmp.Or(c.CallTimeout, 5*time.Second)
	c.Logger = cmp.Or(c.Logger, slog.Default())
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}
