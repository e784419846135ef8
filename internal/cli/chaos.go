package cli

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/shardline/shardline/internal/lab/chaos"
)

func runChaos(ctx context.Context, env *Env, args []string) error {
	fs := flag.NewFlagSet("chaos", flag.ContinueOnError)
	var (
		c     common
		cfg   chaos.Config
		rate  float64
		shard int
	)
	c.register(fs, noResources)
	fs.Int64Var(&cfg.Seed, "seed", 1, "seed of every random choice (load, faults); the report prints it")
	durationFlag(fs, &cfg.Duration, "duration", 10*time.Minute, "how long the load runs")
	fs.IntVar(&cfg.Workers, "workers", 3, "worker processes")
	fs.IntVar(&cfg.Keys, "keys", 200, "distinct object keys")
	fs.Float64Var(&rate, "rate", 20, "S3 operations per second")
	fs.IntVar(&shard, "shards", 2, "initial shards")
	durationFlag(fs, &cfg.LeaseDuration, "lease-duration", 5*time.Second, "workers' lease duration")
	durationFlag(fs, &cfg.CatchUp, "catch-up", 5*time.Minute, "bound on the final catch-up")
	fs.BoolVar(&cfg.NoDuplicates, "no-duplicates", false, "do not resend notifications")
	fs.BoolVar(&cfg.NoReorder, "no-reorder", false, "do not hold notifications back")
	fs.BoolVar(&cfg.NoKill, "no-kill", false, "do not kill -9 workers")
	fs.BoolVar(&cfg.NoPause, "no-pause", false, "do not pause workers past their lease")
	fs.BoolVar(&cfg.NoScale, "no-scale", false, "do not add and remove workers")
	fs.BoolVar(&cfg.NoReshard, "no-reshard", false, "do not split and merge shards")
	fs.BoolVar(&cfg.NoAPIFaults, "no-api-faults", false, "let the processes reach S3, Kinesis and DynamoDB directly, without the AWS API fault proxies")
	fs.BoolVar(&cfg.NoDoubleFaults, "no-double-faults", false, "inject one process fault at a time (no kill during a pause or right after a commit)")
	fs.BoolVar(&cfg.NoOperators, "no-operators", false, "run no operator commands (reconcile --fix, redrive, reprocess --epoch-bump, reshard scale) during the load")
	fs.BoolVar(&cfg.Versioned, "versioned", true, "version the input bucket; the load also deletes specific versions and removes delete markers (-versioned=false: unversioned)")
	fs.StringVar(&cfg.WebhookAddr, "webhook-addr", "127.0.0.1:8085", "address MinIO's webhook target posts to")
	fs.StringVar(&cfg.WebhookToken, "webhook-token", "", "token MinIO's webhook target sends (stack.sh env exports it); the chaos proxy refuses requests without it; empty: not checked")
	fs.StringVar(&cfg.NotifyARN, "notify-arn", "arn:minio:sqs::SHARDLINE:webhook", "MinIO queue ARN of the webhook target")
	fs.StringVar(&cfg.LogDir, "log-dir", ".local/log", "directory for the processes' logs")
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
	if err := os.MkdirAll(cfg.LogDir, 0o755); err != nil {
		return err
	}
	clients, err := c.clients(ctx)
	if err != nil {
		return err
	}
	cfg.Binary, cfg.Rate, cfg.Shards, cfg.Out, cfg.Logger = bin, rate, int32(shard), env.Stdout, log
	_, err = chaos.Run(ctx, clients, cfg)
	return err
}
