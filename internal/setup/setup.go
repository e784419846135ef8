// Package setup creates (idempotently) what shardline needs: the Kinesis stream, the DynamoDB
// lease, ledger and dead-letter tables (the last two with time to live on TTLAttribute, where the
// server supports it), the input and output buckets, and optionally the input
// bucket's notification to a webhook queue (MinIO). On AWS, Terraform (infra/terraform) does the
// same; this package serves the local stack, the demo and the tests.
package setup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	kintypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/shardline/shardline/checkpoint"
	"github.com/shardline/shardline/internal/deadletter"
	"github.com/shardline/shardline/internal/ledger"
)

// Config names the resources. Empty names are not created.
type Config struct {
	StreamName      string
	Shards          int32 // default 2
	LeaseTable      string
	LedgerTable     string
	DeadLetterTable string
	InputBucket     string
	OutputBucket    string
	// NotifyQueueARN, when set, makes the input bucket send ObjectCreated and ObjectRemoved
	// events to this queue ARN (for MinIO: arn:minio:sqs::<ID>:webhook).
	NotifyQueueARN string
	// Wait bounds waiting for the stream and tables to become ACTIVE; default 2m.
	Wait time.Duration
}

// Clients are the service clients setup uses.
type Clients struct {
	S3       *s3.Client
	Kinesis  *kinesis.Client
	DynamoDB *dynamodb.Client
}

// Run creates whatever of cfg does not exist yet and waits until it is usable.
func Run(ctx context.Context, c Clients, cfg Config, log *slog.Logger) error {
	if cfg.Shards == 0 {
		cfg.Shards = 2
	}
	if cfg.Wait == 0 {
		cfg.Wait = 2 * time.Minute
	}
	if cfg.StreamName != "" {
		if err := ensureStream(ctx, c.Kinesis, cfg.StreamName, cfg.Shards, cfg.Wait); err != nil {
			return err
		}
		log.Info("stream ready", slog.String("stream", cfg.StreamName))
	}
	for _, t := range []struct {
		name, key string
		ttl       bool
	}{
		{cfg.LeaseTable, checkpoint.AttrShardID, false},
		{cfg.LedgerTable, ledger.AttrObject, true},
		{cfg.DeadLetterTable, deadletter.AttrID, true},
	} {
		if t.name == "" {
			continue
		}
		if err := ensureTable(ctx, c.DynamoDB, t.name, t.key, cfg.Wait); err != nil {
			return err
		}
		if t.ttl {
			if err := ensureTTL(ctx, c.DynamoDB, t.name, log); err != nil {
				return err
			}
		}
		log.Info("table ready", slog.String("table", t.name))
	}
	for _, b := range []string{cfg.InputBucket, cfg.OutputBucket} {
		if b == "" {
			continue
		}
		if err := ensureBucket(ctx, c.S3, b); err != nil {
			return err
		}
		log.Info("bucket ready", slog.String("bucket", b))
	}
	if cfg.NotifyQueueARN != "" && cfg.InputBucket != "" {
		_, err := c.S3.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{
			Bucket: aws.String(cfg.InputBucket),
			NotificationConfiguration: &s3types.NotificationConfiguration{
				QueueConfigurations: []s3types.QueueConfiguration{{
					Id:       aws.String("shardline"),
					QueueArn: aws.String(cfg.NotifyQueueARN),
					Events:   []s3types.Event{"s3:ObjectCreated:*", "s3:ObjectRemoved:*"},
				}},
			},
		})
		if err != nil {
			return fmt.Errorf("bucket %s notification to %s: %w", cfg.InputBucket, cfg.NotifyQueueARN, err)
		}
		log.Info("bucket notification set", slog.String("bucket", cfg.InputBucket), slog.String("queue", cfg.NotifyQueueARN))
	}
	return nil
}

func ensureStream(ctx context.Context, kc *kinesis.Client, name string, shards int32, wait time.Duration) error {
	create := func() error {
		_, err := kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(name), ShardCount: aws.Int32(shards)})
		return err
	}
	exists := kinesis.NewStreamExistsWaiter(kc, func(o *kinesis.StreamExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = waitMinDelay, waitMaxDelay
	})
	return ensure[*kintypes.ResourceInUseException]("stream", name, create, func() error {
		return exists.Wait(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String(name)}, wait)
	})
}

func ensureTable(ctx context.Context, db *dynamodb.Client, name, key string, wait time.Duration) error {
	create := func() error {
		_, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
			TableName:            aws.String(name),
			AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String(key), AttributeType: ddbtypes.ScalarAttributeTypeS}},
			KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String(key), KeyType: ddbtypes.KeyTypeHash}},
			BillingMode:          ddbtypes.BillingModePayPerRequest,
		})
		return err
	}
	exists := dynamodb.NewTableExistsWaiter(db, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = waitMinDelay, waitMaxDelay
	})
	return ensure[*ddbtypes.ResourceInUseException]("table", name, create, func() error {
		return exists.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, wait)
	})
}

// How often ensureStream and ensureTable look whether what they created exists yet.
const waitMinDelay, waitMaxDelay = 100 * time.Millisecond, 2 * time.Second

// ensure runs create, accepting an InUse error (kind name exists already), then waits with
// waitExists until it exists.
func ensure[InUse error](kind, name string, create, waitExists func() error) error {
	var inUse InUse
	if err := create(); err != nil && !errors.As(err, &inUse) {
		return fmt.Errorf("create %s %s: %w", kind, name, err)
	}
	if err := waitExists(); err != nil {
		return fmt.Errorf("wait for %s %s: %w", kind, name, err)
	}
	return nil
}

func ensureBucket(ctx context.Context, c *s3.Client, name string) error {
	_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)})
	var owned *s3types.BucketAlreadyOwnedByYou
	var exists *s3types.BucketAlreadyExists
	if err != nil && !errors.As(err, &owned) && !errors.As(err, &exists) {
		return fmt.Errorf("create bucket %s: %w", name, err)
	}
	return nil
}
