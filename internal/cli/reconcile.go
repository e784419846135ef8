package cli

import (
	"context"
	"errors"
	"flag"

	"github.com/shardline/shardline/internal/forwarder"
	"github.com/shardline/shardline/internal/ledger"
	"github.com/shardline/shardline/internal/progress"
	"github.com/shardline/shardline/internal/reconcile"
	"github.com/shardline/shardline/internal/telemetry"
)

func reconcileFlags(fs *flag.FlagSet) Action {
	var cfg reconcile.Config
	fs.StringVar(&cfg.InputBucket, "bucket", "", "input bucket (required)")
	fs.StringVar(&cfg.OutputBucket, "output", "", "output bucket (required)")
	fs.StringVar(&cfg.OutputPrefix, "output-prefix", "", "key prefix of the copies")
	fs.BoolVar(&cfg.Fix, "fix", false, "put synthetic events on the stream so that workers repair every missing, orphaned or stale output")
	fs.IntVar(&cfg.Concurrency, "concurrency", 8, "HeadObject requests in flight")
	check := required("--bucket and --output are required", &cfg.InputBucket, &cfg.OutputBucket)
	return Action{Check: check, Run: func(ctx context.Context, s *Session) error {
		var err error
		cfg.S3 = s.Clients.S3
		if cfg.Ledger, err = ledger.New(s.Clients.DynamoDB, s.LedgerTable); err != nil {
			return err
		}
		if cfg.Fix {
			if cfg.Writer, err = streamWriter(s); err != nil {
				return err
			}
		}
		line := progress.New(s.Env.Stderr)
		cfg.OnProgress = func(p reconcile.Progress) {
			line.Printf("reconcile: %d inputs, %d outputs listed, %d outputs checked, %d repairs enqueued", p.Inputs, p.Outputs, p.Checked, p.Enqueued)
		}
		res, err := reconcile.Run(ctx, cfg)
		line.Done()
		if err != nil && res.Inputs == 0 {
			return err
		}
		return finish(err, writeReconcile(s.Env.Stdout, cfg, res, s.JSON), func() error { return reconcileStatus(res, cfg.Fix) })
	}}
}

// streamWriter is the Kinesis writer of the commands that enqueue repair events (reconcile
// --fix, ledger reset): the forwarder's, with its metrics kept to the command.
func streamWriter(s *Session) (*forwarder.Writer, error) {
	w, err := forwarder.NewWriter(forwarder.WriterConfig{
		Client: s.Clients.Kinesis, StreamName: s.Stream, Registerer: telemetry.NewRegistry(), Logger: s.Log,
	})
	if err != nil {
		return nil, errors.Join(errUsage, err)
	}
	return w, nil
}

// reconcileStatus is nil when every key is in sync, dead-lettered or has a repair enqueued, and
// an exit status 3 error otherwise: scripts tell "out of sync" from "in sync" and from a failure.
func reconcileStatus(r reconcile.Result, fix bool) error {
	n := r.Unrepaired()
	switch {
	case n == 0:
		return nil
	case fix:
		return attention("%s out of sync and not repaired (see REPAIR)", opsPlural(n, "key"))
	default:
		return attention("%s out of sync (run with --fix to repair)", opsPlural(n, "key"))
	}
}
