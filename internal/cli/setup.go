package cli

import (
	"context"
	"flag"

	"github.com/shardline/shardline/internal/setup"
)

func runSetup(ctx context.Context, env *Env, args []string) error {
	fs := flag.NewFlagSet("setup", flag.ContinueOnError)
	var (
		c      common
		cfg    setup.Config
		shards int
	)
	c.register(fs, streamFlag|tableFlags)
	fs.IntVar(&shards, "shards", 2, "shard count of a new stream")
	fs.StringVar(&cfg.InputBucket, "input-bucket", "", "input bucket to create (optional)")
	fs.StringVar(&cfg.OutputBucket, "output-bucket", "", "output bucket to create (optional)")
	fs.StringVar(&cfg.NotifyQueueARN, "notify-arn", "", "queue ARN the input bucket notifies, e.g. arn:minio:sqs::SHARDLINE:webhook (optional)")
	if err := parse(fs, args, env); err != nil {
		return err
	}
	log, err := c.logger(env.Stderr)
	if err != nil {
		return err
	}
	clients, err := c.clients(ctx)
	if err != nil {
		return err
	}
	cfg.StreamName, cfg.Shards = c.stream, int32(shards)
	cfg.LeaseTable, cfg.LedgerTable, cfg.DeadLetterTable = c.leaseTable, c.ledgerTable, c.deadLetterTable
	return setup.Run(ctx, setup.Clients{S3: clients.S3, Kinesis: clients.Kinesis, DynamoDB: clients.DynamoDB}, cfg, log)
}
