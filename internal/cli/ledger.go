package cli

import (
	"context"
	"flag"
	"fmt"

	"github.com/shardline/shardline/internal/ledger"
	"github.com/shardline/shardline/internal/ledgerreset"
)

const ledgerUsage = "usage: shardline ledger reset --bucket B --key K [--dry-run] [--json]"

// ledgerReset is `shardline ledger reset`.
func ledgerReset() Command {
	return Command{Name: "ledger reset", Shared: AWS | Stream | LedgerTable | JSON, Flags: ledgerResetFlags}
}

// runLedger dispatches `shardline ledger <subcommand>`; reset is the only one.
func runLedger(ctx context.Context, env *Env, args []string) error {
	if len(args) > 0 && args[0] == "reset" {
		return ledgerReset().run(ctx, env, args[1:])
	}
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		fmt.Fprintln(env.Stderr, ledgerUsage)
		fmt.Fprintln(env.Stderr, "\nreset: forget one object's ledger entry (only if unchanged since read) and enqueue a converging event")
		fmt.Fprintln(env.Stderr, "\nflags of reset:")
		fs, _, _ := ledgerReset().flagSet()
		fs.SetOutput(env.Stderr)
		fs.PrintDefaults()
		return flag.ErrHelp
	}
	return fmt.Errorf("%w: %s", errUsage, ledgerUsage)
}

func ledgerResetFlags(fs *flag.FlagSet) Action {
	var cfg ledgerreset.Config
	fs.StringVar(&cfg.Bucket, "bucket", "", "input bucket of the object (required)")
	fs.StringVar(&cfg.Key, "key", "", "object key (required)")
	fs.BoolVar(&cfg.DryRun, "dry-run", false, "show the entry and the event that would be enqueued, change nothing")
	check := required("--bucket and --key are required", &cfg.Bucket, &cfg.Key)
	return Action{Check: check, Run: func(ctx context.Context, s *Session) error {
		var err error
		if cfg.Ledger, err = ledger.New(s.Clients.DynamoDB, s.LedgerTable); err != nil {
			return err
		}
		if !cfg.DryRun {
			if cfg.Writer, err = streamWriter(s); err != nil {
				return err
			}
		}
		res, err := ledgerreset.Run(ctx, cfg)
		if err != nil && res.Object == "" {
			return fmt.Errorf("%w: %v", errUsage, err) // invalid bucket name or key
		}
		return finish(err, writeLedgerReset(s.Env.Stdout, res, err, s.JSON), nil)
	}}
}
