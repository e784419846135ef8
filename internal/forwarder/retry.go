package forwarder

import (
	"context"
	"errors"
	"math/rand/v2"
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
