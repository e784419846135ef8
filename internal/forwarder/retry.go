package forwarder

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/aws/smithy-go"
)

// throttleCodes are error codes of a whole PutRecords call that mean "try again later".
var throttleCodes = map[string]bool{
	"ProvisionedThroughputExceededException": true,
	"LimitExceededException":                 true,
	"KMSThrottlingException":                 true,
	"ThrottlingException":                    true,
	"Throttling":                             true,
	"RequestLimitExceeded":                   true,
	"InternalFailure":                        true,
	"InternalFailureException":               true,
	"ServiceUnavailable":                     true,
}

// retryable reports whether a failed PutRecords call is worth repeating: throttling, a server
// fault (5xx) or a transport error are; an error the service attributes to the request
// (ResourceNotFound, AccessDenied, validation, ...) and an ended context are not.
func retryable(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var status interface{ HTTPStatusCode() int }
	if errors.As(err, &status) {
		if code := status.HTTPStatusCode(); code >= 500 || code == 429 {
			return true
		}
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return throttleCodes[apiErr.ErrorCode()] || apiErr.ErrorFault() == smithy.FaultServer
	}
	// No service error at all: the request did not get an answer (connection refused or reset,
	// DNS, timeout). Transient.
	return true
}

// backoff returns the wait before retry number n (1 for the first retry): a uniformly random
// duration in [0, min(max, base·2^(n-1))] ("full jitter"), so that concurrent forwarders that
// were throttled together do not retry together.
func backoff(base, max time.Duration, n int) time.Duration {
	ceiling := base
	for i := 1; i < n && ceiling < max; i++ {
		ceiling *= 2
	}
	ceiling = min(ceiling, max)
	if ceiling <= 0 {
		return 0
	}
	return rand.N(ceiling + 1)
}

// sleep waits for d or until ctx ends, whichever is first.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
