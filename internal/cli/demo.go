package cli

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/shardline/shardline/internal/lab/demo"
)

func runDemo(ctx context.Context, env *Env, args []string) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	var (
		c   common
		cfg demo.Config
	)
	c.register(fs, noResources)
	fs.StringVar(&cfg.PhotosDir, "photos", "/usr/share/backgrounds/mate", "directory of photos to upload (Debian's mate-backgrounds)")
	fs.StringVar(&cfg.WebhookAddr, "webhook-addr", "127.0.0.1:8085", "address MinIO's webhook target posts to")
	fs.StringVar(&cfg.WebhookToken, "webhook-token", "", "token MinIO's webhook target sends (stack.sh env exports it); the demo's proxy refuses requests without it; empty: not checked")
	fs.StringVar(&cfg.NotifyARN, "notify-arn", "arn:minio:sqs::SHARDLINE:webhook", "MinIO queue ARN of the webhook target")
	fs.IntVar(&cfg.Workers, "workers", 2, "worker processes")
	fs.StringVar(&cfg.LogDir, "log-dir", ".local/log", "directory for the processes' logs")
	durationFlag(fs, &cfg.Timeout, "timeout", 5*time.Minute, "bound on waiting for notifications and catch-up")
	if err := parse(fs, args, env); err != nil {
		return err
	}
	c.logFormat = "text"
	log, err := c.logger(env.Stderr)
	if err != nil {
		return err
	}
	bin, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own executable: %w", err)
	}
	clients, err := c.clients(ctx)
	if err != nil {
		return err
	}
	cfg.Binary, cfg.Out, cfg.Logger = bin, env.Stdout, log
	return demo.Run(ctx, clients, cfg)
}
