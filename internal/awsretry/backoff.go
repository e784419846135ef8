package awsretry

import (
	"math/rand/v2"
	"time"
)

// Backoff returns the wait before retry number attempt (1 for the first retry): a uniformly
// random duration in [0, min(max, base·2^(attempt-1))] ("full jitter"), so that callers that
// failed together (throttled by one stream or table) do not retry together. It is the one
// backoff of the project: the forwarder's Writer (and through it redrive and reconcile) and the
// worker's record processor use it. A zero or negative ceiling waits 0.
func Backoff(base, max time.Duration, attempt int) time.Duration {
	ceiling := base
	for i := 1; i < attempt && ceiling < max; i++ {
		ceiling *= 2
	}
	ceiling = min(ceiling, max)
	if ceiling <= 0 {
		return 0
	}
	return rand.N(ceiling + 1)
}
