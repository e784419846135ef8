package cli

import (
	"errors"
	"fmt"
)

// Exit statuses of shardline. Main returns 0 on success, exitError on an error and exitUsage on a
// usage error; a command returns an *exitStatus error for any other status.
const (
	exitError = 1
	exitUsage = 2
	// exitAttention: the command ran to the end, but what it found or left needs an operator
	// (reconcile: keys out of sync and not repaired; redrive: selected letters that stay).
	exitAttention = 3
)

// exitStatus is an error that asks Main for a specific exit status; its message is printed like
// any other error's.
type exitStatus struct {
	code int
	msg  string
}

func (e *exitStatus) Error() string { return e.msg }

func attention(format string, args ...any) error {
	return &exitStatus{code: exitAttention, msg: fmt.Sprintf(format, args...)}
}

// statusOf is the exit status of a command's non-nil, non-usage error: the one it asks for
// (*exitStatus), else exitError.
func statusOf(err error) int {
	var es *exitStatus
	if errors.As(err, &es) {
		return es.code
	}
	return exitError
}
