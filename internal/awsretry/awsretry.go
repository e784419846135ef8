// Package awsretry decides whether a failed AWS call, or a record a batch call refused, is worth
// sending again, and how long to wait before it is (Backoff). It is the one classification and
// the one backoff the project shares (the forwarder's Writer, and through it redrive and
// reconcile; the worker's record processor), so that they agree on what "transient" means and
// retry the same way.
package awsretry

import (
	"context"
	"errors"

	"github.com/aws/smithy-go"
)

// throttleCodes are error codes of a whole call that mean "try again later".
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

// Retryable reports whether a failed call is worth repeating: throttling, a server fault (5xx,
// 429) or a transport error (no answer at all: connection refused or reset, DNS, timeout) are; an
// error the service attributes to the request (ResourceNotFound, AccessDenied, validation, a
// disabled KMS key, ...) and an ended context are not.
func Retryable(err error) bool {
	if err == nil {
		return false
	}
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
	return true
}

// permanentRecordCodes are the ErrorCode values of a refused PutRecords record that sending it
// again cannot fix: the stream's KMS key is disabled, missing, not usable or not accessible.
var permanentRecordCodes = map[string]bool{
	"KMSDisabledException":      true,
	"KMSInvalidStateException":  true,
	"KMSNotFoundException":      true,
	"KMSAccessDeniedException":  true,
	"KMSOptInRequired":          true,
	"AccessDeniedException":     true,
	"ResourceNotFoundException": true,
}

// RecordRetryable reports whether a record a PutRecords call refused, with this ErrorCode, is
// worth sending again: ProvisionedThroughputExceededException, InternalFailure, KMS throttling
// and codes it does not know are; a KMS key or permission problem is not.
func RecordRetryable(code string) bool {
	return !permanentRecordCodes[code]
}
