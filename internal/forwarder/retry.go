package forwarder

import (
	"context"
	"errors"
	"time"

	"github.com/shardline/shardline/internal/awsretry"
)

// retryable reports whether a failed PutRecords call is worth repeating (see awsretry.Retryable:
// throttling, a server fault or a transport error are; ResourceNotFound, AccessDenied, validation
// and an ended context are not). A full backlog is not either: the Write fails at once, so the
// sender retries later instead of a waiting request holding its records.
func retryable(err error) bool {
	return !errors.Is(err, ErrBacklogFull) && awsretry.Retryable(err)
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
