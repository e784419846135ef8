package awsretry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

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
		{"validation", op(status(400, &smithy.GenericAPIError{Code: "ValidationException"})), false},
		{"KMS disabled", op(status(400, &types.KMSDisabledException{})), false},
		{"canceled", op(context.Canceled), false},
		{"deadline", op(context.DeadlineExceeded), false},
		{"nil", nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Retryable(tc.err); got != tc.want {
				t.Errorf("Retryable(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

func TestRecordRetryable(t *testing.T) {
	tests := []struct {
		code string
		want bool
	}{
		{"ProvisionedThroughputExceededException", true},
		{"InternalFailure", true},
		{"KMSThrottlingException", true},
		{"SomethingNew", true},
		{"KMSDisabledException", false},
		{"KMSNotFoundException", false},
		{"KMSAccessDeniedException", false},
		{"KMSInvalidStateException", false},
		{"KMSOptInRequired", false},
	}
	for _, tc := range tests {
		t.Run(tc.code, func(t *testing.T) {
			if got := RecordRetryable(tc.code); got != tc.want {
				t.Errorf("RecordRetryable(%q) = %v, want %v", tc.code, got, tc.want)
			}
		})
	}
}
