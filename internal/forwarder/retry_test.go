package forwarder

import (
	"errors"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// TestRetryable covers what the Writer adds to awsretry.Retryable (whose own test covers the AWS
// errors): a full backlog is not retried.
func TestRetryable(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"backlog full", fmt.Errorf("put: %w", ErrBacklogFull), false},
		{"throughput exceeded", &types.ProvisionedThroughputExceededException{}, true},
		{"access denied", &types.AccessDeniedException{}, false},
		{"transport error", errors.New("dial tcp: connection refused"), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := retryable(tc.err); got != tc.want {
				t.Errorf("retryable(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}
