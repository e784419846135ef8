package processor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/shardline/shardline/internal/awsretry"
)

// retry runs fn until it succeeds, fails permanently, is abandoned, or MaxAttempts is reached.
func (p *shardProcessor) retry(fn func(ctx context.Context) error) error {
	return p.retryUntil(p.ctx, p.cfg.Retry.MaxAttempts, fn)
}

// retryForever is retry without an attempt limit, for writes that must not be lost (dead
// letters); it still stops on shutdown or lease loss.
func (p *shardProcessor) retryForever(fn func(ctx context.Context) error) error {
	return p.retryUntil(p.ctx, 0, fn)
}

// retryUntil runs fn with ctx until it succeeds, fails permanently, is abandoned, maxAttempts
// (0: no limit) is reached, or ctx ends.
func (p *shardProcessor) retryUntil(ctx context.Context, maxAttempts int, fn func(ctx context.Context) error) error {
	for attempt := 1; ; attempt++ {
		err := fn(ctx)
		switch {
		case err == nil, errors.Is(err, ErrPermanent), errors.Is(err, errAbandoned):
			return err
		case ctx.Err() != nil:
			return fmt.Errorf("%w: %v", errAbandoned, err)
		case maxAttempts > 0 && attempt >= maxAttempts:
			return fmt.Errorf("after %d attempts: %w", attempt, err)
		}
		p.m.retries.Inc()
		p.log.Warn("transient failure, retrying", slog.Int("attempt", attempt), slog.String("error", err.Error()))
		t := time.NewTimer(awsretry.Backoff(p.cfg.Retry.Base, p.cfg.Retry.Max, attempt))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w: %v", errAbandoned, err)
		case <-t.C:
		}
	}
}
