// Package awsclients builds the aws-sdk-go-v2 clients shardline uses from the standard AWS
// configuration chain (AWS_* environment, shared config, IMDS/ECS credentials). Endpoints are
// overridden only by the SDK's own AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> variables, so
// the same binary talks to AWS or to the local stack by configuration alone.
package awsclients

import (
	"context"
	"fmt"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Options adjusts what the configuration chain does not cover.
type Options struct {
	// Region overrides AWS_REGION when set.
	Region string
	// S3PathStyle addresses buckets as endpoint/bucket/key instead of bucket.endpoint/key, as
	// MinIO and most S3-compatible stores need.
	S3PathStyle bool
	// MaxAttempts is the SDK's per-call retry budget for throttling and 5xx; default 5.
	MaxAttempts int
	// MaxIdleConnsPerHost is how many idle keep-alive connections the HTTP client keeps per
	// endpoint; default DefaultMaxIdleConnsPerHost. The SDK's own default (10) is far below the
	// calls a worker has in flight (up to KeyConcurrency per shard, each a DynamoDB call), so
	// every burst above it closed its extra connections and the next burst dialled new ones.
	MaxIdleConnsPerHost int
}

// DefaultMaxIdleConnsPerHost covers the DynamoDB calls of two shards at the largest default key
// concurrency (2 × 128) without closing connections between bursts.
const DefaultMaxIdleConnsPerHost = 256

// Clients are the three service clients.
type Clients struct {
	Config   aws.Config
	S3       *s3.Client
	Kinesis  *kinesis.Client
	DynamoDB *dynamodb.Client
}

// Load builds the clients.
func Load(ctx context.Context, o Options) (Clients, error) {
	if o.MaxAttempts == 0 {
		o.MaxAttempts = 5
	}
	if o.MaxIdleConnsPerHost == 0 {
		o.MaxIdleConnsPerHost = DefaultMaxIdleConnsPerHost
	}
	// One client, so one connection pool, for the three services (one host each).
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConnsPerHost = o.MaxIdleConnsPerHost
		t.MaxIdleConns = max(t.MaxIdleConns, 3*o.MaxIdleConnsPerHost)
	})
	opts := []func(*config.LoadOptions) error{
		config.WithHTTPClient(httpClient),
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(so *retry.StandardOptions) { so.MaxAttempts = o.MaxAttempts })
		}),
	}
	if o.Region != "" {
		opts = append(opts, config.WithRegion(o.Region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return Clients{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return Clients{}, fmt.Errorf("no AWS region: set AWS_REGION or --region")
	}
	return Clients{
		Config: cfg,
		S3: s3.NewFromConfig(cfg, func(so *s3.Options) {
			so.UsePathStyle = o.S3PathStyle
			// S3-compatible stores do not all support the newer default checksums.
			so.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
			so.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		}),
		Kinesis:  kinesis.NewFromConfig(cfg),
		DynamoDB: dynamodb.NewFromConfig(cfg),
	}, nil
}
