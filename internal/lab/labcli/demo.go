package labcli

import (
	"context"
	"flag"
	"time"

	"github.com/shardline/shardline/internal/cli"
	"github.com/shardline/shardline/internal/lab/demo"
)

func demoFlags(fs *flag.FlagSet) cli.Action {
	var cfg demo.Config
	fs.StringVar(&cfg.PhotosDir, "photos", "/usr/share/backgrounds/mate", "directory of photos to upload (Debian's mate-backgrounds)")
	cfg.Webhook.Flags(fs)
	fs.StringVar(&cfg.WebhookToken, "webhook-token", "", "token MinIO's webhook target sends (stack.sh env exports it); the demo's proxy refuses requests without it; empty: not checked")
	fs.IntVar(&cfg.Workers, "workers", 2, "worker processes")
	fs.StringVar(&cfg.LogDir, "log-dir", ".local/log", "directory for the processes' logs")
	fs.DurationVar(&cfg.Timeout, "timeout", 5*time.Minute, "bound on waiting for notifications and catch-up")
	return cli.Action{Run: func(ctx context.Context, s *cli.Session) error {
		bin, err := shardlineBinary()
		if err != nil {
			return err
		}
		cfg.Binary, cfg.Out, cfg.Logger = bin, s.Env.Stdout, s.Log
		return demo.Run(ctx, s.Clients, cfg)
	}}
}
