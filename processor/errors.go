package processor

import (
	"errors"
	"fmt"
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

// ReasonOf returns the reason label of a permanent error, or "" if err is not permanent.
func ReasonOf(err error) string {
	var pe *PermanentError
	if errors.As(err, &pe) {
		return pe.Reason
	}
	return ""
}
