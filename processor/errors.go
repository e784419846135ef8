package processor

import (
	"errors"
	"fmt"
	"time"
)

// ErrPermanent marks a failure that retrying cannot fix (not an image, corrupt, too large, access
// denied, not our envelope). The processor dead-letters such a record with its reason and moves
// on; every other error is treated as transient and retried with backoff.
var ErrPermanent = errors.New("permanent failure")

// PermanentError is a failure that will not go away on retry. Reason is a short, stable,
// machine-readable label (it becomes a metric label and the dead letter's reason).
type PermanentError struct {
	Reason string
	Err    error
}

// Permanent wraps err as a permanent failure with a reason label.
func Permanent(reason string, err error) error {
	return &PermanentError{Reason: reason, Err: err}
}

func (e *PermanentError) Error() string {
	if e.Err == nil {
		return e.Reason
	}
	return fmt.Sprintf("%s: %v", e.Reason, e.Err)
}

// Unwrap returns the cause.
func (e *PermanentError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrPermanent) true for every *PermanentError.
func (e *PermanentError) Is(target error) bool { return target == ErrPermanent }

// TransientError is a failure worth retrying (a throttle, a timeout, a 5xx, a network error): the
// processor retries the record with backoff, and dead-letters it with ReasonRetriesExhausted
// after Retry.MaxAttempts attempts. Every error that is not permanent is treated so; Transient
// says it in the handler's code. Wrap only errors that are not permanent.
type TransientError struct{ Err error }

// Transient wraps err as a failure worth retrying.
func Transient(err error) error { return &TransientError{Err: err} }

func (e *TransientError) Error() string {
	if e.Err == nil {
		return "transient failure"
	}
	return "transient failure: " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *TransientError) Unwrap() error { return e.Err }

// ReasonOf returns the reason label of a permanent error, or "" if err is not permanent.
func ReasonOf(err error) string {
	var pe *PermanentError
	if errors.As(err, &pe) {
		return pe.Reason
	}
	return ""
}

// ErrTimeout matches every *TimeoutError: a handler call that ran past its deadline.
var ErrTimeout = errors.New("handler timed out")

// TimeoutError is the failure of a handler call still running at its deadline (Config.
// HandlerTimeout). It is transient: the record is retried, and dead-lettered with ReasonTimeout
// after Config.MaxTimeouts of them. Overdue is true when the handler ignored its context and
// was still running when the processor stopped waiting for it.
type TimeoutError struct {
	Timeout time.Duration
	Overdue bool
	Err     error // what the handler returned, when it returned; nil if it was abandoned
}

func (e *TimeoutError) Error() string {
	switch {
	case e.Overdue:
		return fmt.Sprintf("handler still running after its %s deadline: abandoned", e.Timeout)
	case e.Err != nil:
		return fmt.Sprintf("handler timed out after %s: %v", e.Timeout, e.Err)
	}
	return fmt.Sprintf("handler timed out after %s", e.Timeout)
}

// Unwrap returns what the handler returned, if anything.
func (e *TimeoutError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrTimeout) true for every *TimeoutError.
func (e *TimeoutError) Is(target error) bool { return target == ErrTimeout }
