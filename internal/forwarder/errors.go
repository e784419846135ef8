package forwarder

import (
	"errors"
	"fmt"
)

// ErrNotForwarded is wrapped by every *NotForwardedError, so callers can test for "some events
// did not reach the stream" with errors.Is.
var ErrNotForwarded = errors.New("events not forwarded")

// NotForwardedError reports that Failed of Total records did not reach the stream: Kinesis
// refused them until the deadline passed or the attempts ran out, the call failed with an error
// that retrying cannot fix, or the context ended. Records not counted in Failed are in the
// stream. Err is the last cause.
type NotForwardedError struct {
	Failed int
	Total  int
	Err    error
}

func (e *NotForwardedError) Error() string {
	return fmt.Sprintf("%d of %d records did not reach Kinesis: %v", e.Failed, e.Total, e.Err)
}

// Unwrap returns ErrNotForwarded and the cause, so both errors.Is(err, ErrNotForwarded) and
// errors.Is(err, context.DeadlineExceeded) (say) match.
func (e *NotForwardedError) Unwrap() []error { return []error{ErrNotForwarded, e.Err} }

// ErrOversize is wrapped by every *OversizeError.
var ErrOversize = errors.New("record too large for Kinesis")

// OversizeError is returned, before anything is sent, for an event whose encoded record (data plus
// partition key) exceeds MaxRecordBytes. Such an event can never be put, so it is rejected
// loudly rather than dropped.
type OversizeError struct {
	EventID  string
	ObjectID string
	Size     int
	Limit    int
}

func (e *OversizeError) Error() string {
	return fmt.Sprintf("event %s for %s: record is %d bytes, limit %d", e.EventID, e.ObjectID, e.Size, e.Limit)
}

// Unwrap lets errors.Is(err, ErrOversize) match.
func (e *OversizeError) Unwrap() error { return ErrOversize }

// RecordError is the per-record failure Kinesis reported in a PutRecords response (ErrorCode is
// ProvisionedThroughputExceededException or InternalFailure, or a KMS error).
type RecordError struct {
	Code    string
	Message string
}

func (e *RecordError) Error() string {
	if e.Message == "" {
		return "PutRecords record failed: " + e.Code
	}
	return fmt.Sprintf("PutRecords record failed: %s: %s", e.Code, e.Message)
}
