package emulators

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/shardline/shardline/internal/lab/hookproxy"
)

// DefaultWebhookAddr is where the local stack's MinIO posts notifications when
// SHARDLINE_WEBHOOK_ADDR is not set.
const DefaultWebhookAddr = hookproxy.DefaultAddr

// WebhookLockPath is the lock file that serialises the users of one webhook address across
// processes: the integration tests (WebhookAddr) and the benchmarks take it before listening.
func WebhookLockPath(addr string) string {
	return filepath.Join(os.TempDir(), "shardline-webhook-"+strings.ReplaceAll(addr, ":", "_")+".lock")
}

// LockWebhook takes the exclusive lock of WebhookLockPath(addr), polling until it is free, ctx
// ends or wait passes (then it returns an error naming the lock). The returned release function
// gives the lock up; the lock also goes when the process exits.
func LockWebhook(ctx context.Context, addr string, wait time.Duration) (release func(), err error) {
	path := WebhookLockPath(addr)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("webhook lock %s: %w", path, err)
	}
	deadline := time.Now().Add(wait)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
				_ = f.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("webhook lock %s: %w", path, err)
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("webhook lock %s still held by another process after %s (a test, demo or bench using %s)", path, wait, addr)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-tick.C:
		}
	}
}
