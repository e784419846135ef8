package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/shardline/shardline/internal/forwarder"
	"github.com/shardline/shardline/internal/ledger"
	"github.com/shardline/shardline/internal/ledgerreset"
	"github.com/shardline/shardline/internal/telemetry"
)

// runLedger dispatches `shardline ledger <subcommand>`; reset is the only one.
func runLedger(ctx context.Context, env *Env, args []string) error {
	if len(args) > 0 && args[0] == "reset" {
		return runLedgerReset(ctx, env, args[1:])
	}
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		fmt.Fprintln(env.Stderr, "usage: shardline ledger reset --bucket B --key K [--dry-run] [--json]")
		fmt.Fprintln(env.Stderr, "\nreset: forget one object's ledger entry (only if unchanged since read) and enqueue a converging event")
		fmt.Fprintln(env.Stderr, "\nflags of reset:")
		fs, _ := ledgerResetFlags(nil)
		fs.SetOutput(env.Stderr)
		fs.PrintDefaults()
		return flag.ErrHelp
	}
	return fmt.Errorf("%w: usage: shardline ledger reset --bucket B --key K [--dry-run] [--json]", errUsage)
}

// ledgerResetOptions are the flags of `ledger reset`.
type ledgerResetOptions struct {
	c      common
	cfg    ledgerreset.Config
	asJSON bool
}

func ledgerResetFlags(o *ledgerResetOptions) (*flag.FlagSet, *ledgerResetOptions) {
	if o == nil {
		o = &ledgerResetOptions{}
	}
	fs := flag.NewFlagSet("ledger reset", flag.ContinueOnError)
	o.c.register(fs, streamFlag)
	ledgerTableFlag(fs, &o.c)
	fs.StringVar(&o.cfg.Bucket, "bucket", "", "input bucket of the object (required)")
	fs.StringVar(&o.cfg.Key, "key", "", "object key (required)")
	fs.BoolVar(&o.cfg.DryRun, "dry-run", false, "show the entry and the event that would be enqueued, change nothing")
	fs.BoolVar(&o.asJSON, "json", false, "print the result as JSON")
	return fs, o
}

func runLedgerReset(ctx context.Context, env *Env, args []string) error {
	fs, o := ledgerResetFlags(nil)
	if err := parse(fs, args, env); err != nil {
		return err
	}
	if o.cfg.Bucket == "" || o.cfg.Key == "" {
		return fmt.Errorf("%w: --bucket and --key are required", errUsage)
	}
	log, err := o.c.logger(env.Stderr)
	if err != nil {
		return err
	}
	clients, err := o.c.clients(ctx)
	if err != nil {
		return err
	}
	led, err := ledger.New(clients.DynamoDB, o.c.ledgerTable)
	if err != nil {
		return err
	}
	o.cfg.Ledger = led
	if !o.cfg.DryRun {
		if o.cfg.Writer, err = forwarder.NewWriter(forwarder.WriterConfig{
			Client: clients.Kinesis, StreamName: o.c.stream, Registerer: telemetry.NewRegistry(), Logger: log,
		}); err != nil {
			return errors.Join(errUsage, err)
		}
	}
	res, err := ledgerreset.Run(ctx, o.cfg)
	if err != nil && res.Object == "" {
		return fmt.Errorf("%w: %v", errUsage, err) // invalid bucket name or key
	}
	if o.asJSON {
		if jerr := opsJSON(env.Stdout, res, true); jerr != nil {
			return jerr
		}
		return err
	}
	if werr := writeLedgerReset(env.Stdout, res, err); werr != nil {
		return werr
	}
	return err
}

// writeLedgerReset prints what ledger reset found and did, and what happens next.
func writeLedgerReset(w io.Writer, r ledgerreset.Result, runErr error) error {
	var b strings.Builder
	fmt.Fprintf(&b, "object %s\n", r.Object)
	if r.Entry != nil {
		e := r.Entry
		fmt.Fprintf(&b, "ledger entry: sequencer %s, epoch %d, op %s, outcome %s, updated %s by %s\n",
			e.Sequencer, e.Epoch, orDash(e.Op), orDash(e.Outcome), e.UpdatedAt.UTC().Format(time.RFC3339), orDash(e.Worker))
	} else if r.Object != "" {
		b.WriteString("ledger entry: none\n")
	}
	switch {
	case errors.Is(runErr, ledgerreset.ErrChanged):
		b.WriteString("refused: the entry changed after it was read (a worker committed, or a redrive reopened it); nothing reset, nothing enqueued. Run again to see the new entry.\n")
	case r.DryRun:
		if r.Found {
			b.WriteString("would reset the entry (dry run)\n")
		}
		if r.Event != nil {
			fmt.Fprintf(&b, "would enqueue a converging event, sequencer %s (dry run)\n", r.Event.Sequencer)
		}
	default:
		if r.Reset {
			b.WriteString("entry reset: every event of the object applies again\n")
		}
		if r.Enqueued {
			fmt.Fprintf(&b, "converging event enqueued, sequencer %s: a worker makes the output match the input's current state\n", r.Event.Sequencer)
		} else if runErr != nil {
			fmt.Fprintf(&b, "converging event not enqueued: %v\n", runErr)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
