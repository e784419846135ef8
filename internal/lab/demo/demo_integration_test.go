package demo_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shardline/shardline/internal/lab/demo"
	"github.com/shardline/shardline/internal/lab/emulators"
	"github.com/shardline/shardline/internal/lab/hookproxy"
)

// TestDemo runs the demo end to end (real processes, real MinIO notifications) on ten of the
// mate-backgrounds photos.
func TestDemo(t *testing.T) {
	emulators.SkipOnMoto(t, "the demo needs MinIO's webhook notifications")
	clients := emulators.Require(t)
	const photos = "/usr/share/backgrounds/mate"
	all, _ := filepath.Glob(filepath.Join(photos, "*", "*.jpg"))
	pngs, _ := filepath.Glob(filepath.Join(photos, "*", "*.png"))
	if len(all) < 6 || len(pngs) < 4 {
		t.Fatalf("need Debian's mate-backgrounds in %s (make photos)", photos)
	}
	dir := t.TempDir()
	for i, p := range append(all[:6], pngs[:4]...) {
		sub := filepath.Join(dir, filepath.Base(filepath.Dir(p)))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(p, filepath.Join(sub, filepath.Base(p))); err != nil {
			t.Fatal(i, err)
		}
	}
	bin := emulators.Shardline(t)
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	err := demo.Run(ctx, clients, demo.Config{
		Binary: bin, PhotosDir: dir, Webhook: hookproxy.Webhook{WebhookAddr: emulators.WebhookAddr(t)}, WebhookToken: os.Getenv("SHARDLINE_WEBHOOK_TOKEN"), LogDir: t.TempDir(),
		Timeout: 2 * time.Minute, Out: &out, Logger: slog.New(slog.DiscardHandler),
	})
	t.Log("\n" + out.String())
	if err != nil {
		t.Fatalf("demo: %v", err)
	}
	for _, want := range []string{"outputs present / expected               7 / 7", "RESULT: OK", "corrupt_image", "not_an_image"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo report lacks %q", want)
		}
	}
}
