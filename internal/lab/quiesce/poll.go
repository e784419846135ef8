package quiesce

import (
	"context"
	"fmt"
	"time"
)

// Poll calls cond every interval until it returns true or an error, ctx ends, or timeout passes.
// It is how the demo, the chaos harness and the benchmarks wait: on a condition with a deadline.
func Poll(ctx context.Context, timeout, interval time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s", timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}
