package emulators

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

func TestLockWebhookIsExclusive(t *testing.T) {
	// Not the real webhook address: tests running at the same time hold that one.
	addr := "127.0.0.1:1-locktest-" + strings.ReplaceAll(t.Name(), "/", "_")
	t.Cleanup(func() { _ = os.Remove(WebhookLockPath(addr)) })
	ctx := context.Background()
	release, err := LockWebhook(ctx, addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LockWebhook(ctx, addr, 300*time.Millisecond); err == nil || !strings.Contains(err.Error(), "still held") {
		t.Fatalf("second lock while held: %v, want a still-held error", err)
	}
	release()
	again, err := LockWebhook(ctx, addr, time.Second)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	again()
}
