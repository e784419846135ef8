package labcli

import (
	"context"
	"flag"
	"os"
	"time"

	"github.com/shardline/shardline/internal/cli"
	"github.com/shardline/shardline/internal/lab/chaos"
)

func chaosFlags(fs *flag.FlagSet) cli.Action {
	var (
		cfg    chaos.Config
		shards int
	)
	fs.Int64Var(&cfg.Seed, "seed", 1, "seed of every random choice (load, faults); the report prints it")
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Minute, "how long the load runs")
	fs.IntVar(&cfg.Workers, "workers", 3, "worker processes")
	fs.IntVar(&cfg.Keys, "keys", 200, "distinct object keys")
	fs.Float64Var(&cfg.Rate, "rate", 20, "S3 operations per second")
	fs.IntVar(&shards, "shards", 2, "initial shards")
	fs.DurationVar(&cfg.LeaseDuration, "lease-duration", 5*time.Second, "workers' lease duration")
	fs.DurationVar(&cfg.CatchUp, "catch-up", 5*time.Minute, "bound on the final catch-up")
	injectorFlags(fs, &cfg)
	cfg.Webhook.Flags(fs)
	fs.StringVar(&cfg.WebhookToken, "webhook-token", "", "token MinIO's webhook target sends (stack.sh env exports it); the chaos proxy refuses requests without it; empty: not checked")
	fs.StringVar(&cfg.LogDir, "log-dir", ".local/log", "directory for the processes' logs")
	return cli.Action{Run: func(ctx context.Context, s *cli.Session) error {
		bin, err := shardlineBinary()
		if err != nil {
			return err
		}
		if err := os.MkdirAll(cfg.LogDir, 0o755); err != nil {
			return err
		}
		cfg.Binary, cfg.Shards, cfg.Out, cfg.Logger = bin, int32(shards), s.Env.Stdout, s.Log
		_, err = chaos.Run(ctx, s.Clients, cfg)
		return err
	}}
}

// injectorFlags registers one switch per fault injector (all on by default) and the input
// bucket's versioning.
func injectorFlags(fs *flag.FlagSet, cfg *chaos.Config) {
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
}
