package cli

import (
	"context"
	"flag"
	"time"

	"github.com/shardline/shardline/internal/deadletter"
	"github.com/shardline/shardline/internal/ledger"
	"github.com/shardline/shardline/internal/progress"
	"github.com/shardline/shardline/internal/redrive"
)

func redriveFlags(fs *flag.FlagSet) Action {
	var cfg redrive.Config
	fs.StringVar(&cfg.Filter.Reason, "reason", "", "redrive only letters with this reason (e.g. retries_exhausted)")
	fs.StringVar(&cfg.Filter.Key, "key", "", "redrive only letters of this object key (or bucket/key)")
	fs.BoolVar(&cfg.DryRun, "dry-run", false, "list the letters that would be redriven, change nothing")
	fs.DurationVar(&cfg.Deadline, "redrive-deadline", 2*time.Minute, "how long refused records are retried before redrive gives up (their letters stay)")
	return Action{Run: func(ctx context.Context, s *Session) error {
		var err error
		if cfg.Letters, err = deadletter.New(s.Clients.DynamoDB, s.DeadLetterTable); err != nil {
			return err
		}
		if cfg.Ledger, err = ledger.New(s.Clients.DynamoDB, s.LedgerTable); err != nil {
			return err
		}
		cfg.Kinesis, cfg.Stream = s.Clients.Kinesis, s.Stream
		line := progress.New(s.Env.Stderr)
		cfg.OnProgress = func(p redrive.Progress) {
			line.Printf("redrive: %d/%d in the stream, %s removed", p.InStream, p.Selected, opsPlural(p.Deleted, "letter"))
		}
		res, err := redrive.Run(ctx, cfg)
		line.Done()
		if err != nil && res.Selected == 0 {
			return err // nothing listed: the stream or a table cannot be used
		}
		status := func() error { return redriveStatus(res) }
		if cfg.DryRun {
			status = nil
		}
		return finish(err, writeRedrive(s.Env.Stdout, res, cfg.DryRun, s.JSON), status)
	}}
}

// redriveStatus is nil when every selected letter was redriven (and removed), and an exit status
// 3 error when some stay: waiting for their worker's ledger commit, empty, or in the stream but
// not removed. Running redrive again later is safe.
func redriveStatus(r redrive.Result) error {
	kept := 0
	for _, l := range r.Letters {
		if !l.Done {
			kept++
		}
	}
	if kept == 0 {
		return nil
	}
	return attention("%d of %s stay (see RESULT); run redrive again later", kept, opsPlural(r.Selected, "selected letter"))
}
