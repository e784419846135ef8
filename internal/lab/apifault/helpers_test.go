package apifault

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// startProxy starts a proxy for the rest of the test.
func startProxy(t *testing.T, cfg Config) *Proxy {
	t.Helper()
	p, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return p
}

// sdkClients are aws-sdk-go-v2 clients that make one attempt per call (no retries) on fresh
// connections (so Go's transport never retries a reset idempotent call by itself).
type sdkClients struct {
	S3       *s3.Client
	Kinesis  *kinesis.Client
	DynamoDB *dynamodb.Client
}

// newClients builds clients whose endpoints are the given URLs ("" keeps the configuration's).
func newClients(base aws.Config, s3URL, kinesisURL, dynamoURL string) sdkClients {
	cfg := base.Copy()
	cfg.Retryer = func() aws.Retryer { return retry.NewStandard(func(o *retry.StandardOptions) { o.MaxAttempts = 1 }) }
	cfg.HTTPClient = awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) { tr.DisableKeepAlives = true })
	endpoint := func(u string) *string {
		if u == "" {
			return nil
		}
		return aws.String(u)
	}
	return sdkClients{
		S3: s3.NewFromConfig(cfg, func(o *s3.Options) {
			if u := endpoint(s3URL); u != nil {
				o.BaseEndpoint = u
			}
			o.UsePathStyle = true
			o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
			o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		}),
		Kinesis: kinesis.NewFromConfig(cfg, func(o *kinesis.Options) {
			if u := endpoint(kinesisURL); u != nil {
				o.BaseEndpoint = u
			}
		}),
		DynamoDB: dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
			if u := endpoint(dynamoURL); u != nil {
				o.BaseEndpoint = u
			}
		}),
	}
}

// classified is how the SDK's default retryer sees an error.
type classified struct {
	throttle, retryable bool
	code                string
	requestID           string
}

func classify(err error) classified {
	var c classified
	c.throttle = retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err) == aws.TrueTernary
	c.retryable = retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) == aws.TrueTernary
	var coder interface{ ErrorCode() string }
	if errors.As(err, &coder) {
		c.code = coder.ErrorCode()
	}
	var re interface{ ServiceRequestID() string }
	if errors.As(err, &re) {
		c.requestID = re.ServiceRequestID()
	}
	return c
}

// countOf returns the count of (op, kind) in a proxy's snapshot.
func countOf(p *Proxy, op string, k Kind) int64 {
	for _, c := range p.Counts() {
		if c.Operation == op && c.Kind == k {
			return c.N
		}
	}
	return 0
}
