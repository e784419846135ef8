package forwarder

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

func TestRetryable(t *testing.T) {
	status := func(code int, err error) error {
		return &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{StatusCode: code}}, Err: err,
		}}
	}
	op := func(err error) error {
		return &smithy.OperationError{ServiceID: "Kinesis", OperationName: "PutRecords", Err: err}
	}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"throughput exceeded", op(status(400, &types.ProvisionedThroughputExceededException{})), true},
		{"limit exceeded", op(status(400, &types.LimitExceededException{})), true},
		{"KMS throttling", op(status(400, &types.KMSThrottlingException{})), true},
		{"internal failure", op(status(500, &types.InternalFailureException{})), true},
		{"503 without a code", op(status(503, errors.New("unavailable"))), true},
		{"429", op(status(429, errors.New("too many"))), true},
		{"server fault code", &smithy.GenericAPIError{Code: "Odd", Fault: smithy.FaultServer}, true},
		{"transport error", op(fmt.Errorf("dial tcp: connection refused")), true},
		{"stream not found", op(status(400, &types.ResourceNotFoundException{})), false},
		{"access denied", op(status(400, &types.AccessDeniedException{})), false},
		{"invalid argument", op(status(400, &types.InvalidArgumentException{})), false},
		{"KMS disabled", op(status(400, &types.KMSDisabledException{})), false},
		{"canceled", op(context.Canceled), false},
		{"deadline", op(context.DeadlineExceeded), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := retryable(tc.err); got != tc.want {
				t.Errorf("retryable(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	tests := []struct {
		name      string
		base, max time.Duration
		n         int
		ceiling   time.Duration
	}{
		{"first retry", 100 * time.Millisecond, 5 * time.Second, 1, 100 * time.Millisecond},
		{"doubles", 100 * time.Millisecond, 5 * time.Second, 4, 800 * time.Millisecond},
		{"capped", 100 * time.Millisecond, 5 * time.Second, 10, 5 * time.Second},
		{"no overflow", time.Second, time.Minute, 200, time.Minute},
		{"zero", 0, 0, 3, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var largest time.Duration
			for range 1000 {
				d := backoff(tc.base, tc.max, tc.n)
				if d < 0 || d > tc.ceiling {
					t.Fatalf("backoff %s outside [0, %s]", d, tc.ceiling)
				}
				largest = max(largest, d)
			}
			if largest < tc.ceiling/2 {
				t.Errorf("largest of 1000 waits %s, not jittered up to %s", largest, tc.ceiling)
			}
		})
	}
}
