package cli

import (
	"context"
	"flag"

	"github.com/shardline/shardline/internal/setup"
)

func setupFlags(fs *flag.FlagSet) Action {
	var (
		cfg    setup.Config
		shards int
	)
	fs.IntVar(&shards, "shards", 2, "shard count of a new stream")
	fs.StringVar(&cfg.InputBucket, "input-bucket", "", "input bucket to create (optional)")
	fs.StringVar(&cfg.OutputBucket, "output-bucket", "", "output bucket to create (optional)")
	fs.StringVar(&cfg.NotifyQueueARN, "notify-arn", "", "queue ARN the input bucket notifies, e.g. arn:minio:sqs::SHARDLINE:webhook (optional)")
	return Action{Run: func(ctx context.Context, s *Session) error {
		cfg.StreamName, cfg.Shards = s.Stream, int32(shards)
		cfg.LeaseTable, cfg.LedgerTable, cfg.DeadLetterTable = s.LeaseTable, s.LedgerTable, s.DeadLetterTable
		c := s.Clients
		return setup.Run(ctx, setup.Clients{S3: c.S3, Kinesis: c.Kinesis, DynamoDB: c.DynamoDB}, cfg, s.Log)
	}}
}
