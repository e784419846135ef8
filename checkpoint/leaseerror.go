package checkpoint

import (
	"errors"
	"fmt"

	chk "github.com/vmware/vmware-go-kcl-v2/clientlibrary/checkpoint"
)

// ErrLeaseLost is returned (wrapped) when a write failed because this worker no longer owns the
// shard's lease.
var ErrLeaseLost = errors.New("lease lost")

// LeaseError says why a lease was not taken, renewed or written under. It matches both
// ErrLeaseLost (errors.Is) and the library's chk.ErrLeaseNotAcquired (errors.As), which the KCL
// worker treats as the quiet "someone else has it" case.
type LeaseError struct {
	Shard  string
	Reason string
}

func (e *LeaseError) Error() string { return fmt.Sprintf("lease %s: %s", e.Shard, e.Reason) }

// Is makes errors.Is(err, ErrLeaseLost) true.
func (e *LeaseError) Is(target error) bool { return target == ErrLeaseLost }

// As lets the KCL recognise the error as chk.ErrLeaseNotAcquired.
func (e *LeaseError) As(target any) bool {
	if t, ok := target.(*chk.ErrLeaseNotAcquired); ok {
		*t = chk.ErrLeaseNotAcquired{}
		return true
	}
	return false
}
