package cli

import (
	"context"
	"flag"

	"github.com/shardline/shardline/internal/ledger"
	"github.com/shardline/shardline/internal/progress"
	"github.com/shardline/shardline/internal/reprocess"
	"github.com/shardline/shardline/internal/shardscan"
)

func reprocessFlags(fs *flag.FlagSet) Action {
	var (
		cfg  reprocess.Config
		from string
	)
	fs.StringVar(&from, "from", "", "where replay starts: trim-horizon, an RFC 3339 time, or <shard>:<sequence> (required)")
	fs.BoolVar(&cfg.EpochBump, "epoch-bump", false, "raise the ledger epoch so that replayed events apply again (else they are dropped as duplicates)")
	fs.BoolVar(&cfg.ForceAfterStop, "force-after-stop", false, "rewind although leases look live (left by killed workers); only when no worker runs")
	fs.BoolVar(&cfg.DryRun, "dry-run", false, "show the new checkpoints, change nothing")
	fs.IntVar(&cfg.ScanLimit, "scan-limit", shardscan.DefaultLimit, "most records read per shard to turn --from into a checkpoint")
	check := func() (err error) {
		cfg.From, err = reprocess.ParseFrom(from)
		return err
	}
	return Action{Check: check, Run: func(ctx context.Context, s *Session) error {
		var err error
		if cfg.Leases, err = opsCheckpointer(s.Clients.DynamoDB, s.LeaseTable); err != nil {
			return err
		}
		if cfg.Epochs, err = ledger.New(s.Clients.DynamoDB, s.LedgerTable); err != nil {
			return err
		}
		cfg.Kinesis, cfg.Stream = s.Clients.Kinesis, s.Stream
		line := progress.New(s.Env.Stderr)
		cfg.OnShard = func(done, total int, phase string) { line.Printf("reprocess: %d/%d shards %s", done, total, phase) }
		res, err := reprocess.Run(ctx, cfg)
		line.Done()
		if err != nil && len(res.Changes) == 0 {
			return err
		}
		return finish(err, writeReprocess(s.Env.Stdout, res, s.JSON), nil)
	}}
}
