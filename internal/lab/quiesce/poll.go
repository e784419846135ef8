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

// Every calls fn every interval until ctx ends (it returns nil) or fn returns an error (it
// returns that error). It is how the harnesses' background loops (watching leases, scraping
// metrics, releasing held notifications, reporting progress) tick.
func Every(ctx context.Context, interval time.Duration, fn func() error) error {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			if err := fn(); err != nil {
				return err
			}
		}
	}
}
