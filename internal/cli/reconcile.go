package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/shardline/shardline/internal/forwarder"
	"github.com/shardline/shardline/internal/ledger"
	"github.com/shardline/shardline/internal/progress"
	"github.com/shardline/shardline/internal/reconcile"
	"github.com/shardline/shardline/internal/telemetry"
)

func runReconcile(ctx context.Context, env *Env, args []string) error {
	fs := flag.NewFlagSet("reconcile", flag.ContinueOnError)
	var (
		c      common
		cfg    reconcile.Config
		asJSON bool
	)
	c.register(fs, streamFlag)
	ledgerTableFlag(fs, &c)
	fs.StringVar(&cfg.InputBucket, "bucket", "", "input bucket (required)")
	fs.StringVar(&cfg.OutputBucket, "output", "", "output bucket (required)")
	fs.StringVar(&cfg.OutputPrefix, "output-prefix", "", "key prefix of the copies")
	fs.BoolVar(&cfg.Fix, "fix", false, "put synthetic events on the stream so that workers repair every missing, orphaned or stale output")
	fs.IntVar(&cfg.Concurrency, "concurrency", 8, "HeadObject requests in flight")
	fs.BoolVar(&asJSON, "json", false, "print the result as JSON")
	if err := parse(fs, args, env); err != nil {
		return err
	}
	if cfg.InputBucket == "" || cfg.OutputBucket == "" {
		return fmt.Errorf("%w: --bucket and --output are required", errUsage)
	}
	log, err := c.logger(env.Stderr)
	if err != nil {
		return err
	}
	clients, err := c.clients(ctx)
	if err != nil {
		return err
	}
	cfg.S3 = clients.S3
	if cfg.Ledger, err = ledger.New(clients.DynamoDB, c.ledgerTable); err != nil {
		return err
	}
	if cfg.Fix {
		if cfg.Writer, err = forwarder.NewWriter(forwarder.WriterConfig{
			Client: clients.Kinesis, StreamName: c.stream, Registerer: telemetry.NewRegistry(), Logger: log,
		}); err != nil {
			return errors.Join(errUsage, err)
		}
	}
	line := progress.New(env.Stderr)
	cfg.OnProgress = func(p reconcile.Progress) {
		line.Printf("reconcile: %d inputs, %d outputs listed, %d outputs checked, %d repairs enqueued", p.Inputs, p.Outputs, p.Checked, p.Enqueued)
	}
	res, err := reconcile.Run(ctx, cfg)
	line.Done()
	if err != nil && res.Inputs == 0 {
		return err
	}
	if asJSON {
		err = errors.Join(opsJSON(env.Stdout, res, true), err)
	} else {
		err = errors.Join(writeReconcile(env.Stdout, cfg, res), err)
	}
	if err != nil {
		return err
	}
	return reconcileStatus(res, cfg.Fix)
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

func writeReconcile(w io.Writer, cfg reconcile.Config, r reconcile.Result) error {
	var b strings.Builder
	fmt.Fprintf(&b, "input s3://%s: %d objects; output s3://%s/%s: %d objects\n", cfg.InputBucket, r.Inputs, cfg.OutputBucket, cfg.OutputPrefix, r.Outputs)
	if len(r.Problems) > 0 {
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "KEY\tPROBLEM\tINPUT ETAG\tOUTPUT SOURCE-ETAG\tREPAIR")
		for _, p := range r.Problems {
			repair := "-"
			switch {
			case p.Fix != "":
				repair = p.Fix + " enqueued, sequencer " + p.Sequencer
			case p.FixError != "":
				repair = "not repaired: " + p.FixError
			case p.Kind == reconcile.DeadLettered:
				repair = "none: the input was dead-lettered (see 'shardline redrive --dry-run')"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.Key, p.Kind, orDash(p.InputETag), orDash(p.SourceETag), repair)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	fmt.Fprintf(&b, "%d in sync, %d missing, %d orphaned, %d stale, %d dead-lettered\n",
		r.InSync, r.Count(reconcile.Missing), r.Count(reconcile.Orphaned), r.Count(reconcile.Stale), r.Count(reconcile.DeadLettered))
	switch {
	case r.Enqueued > 0:
		fmt.Fprintf(&b, "%s enqueued: workers apply them through the ledger like any other event\n", opsPlural(r.Enqueued, "repair event"))
	case !cfg.Fix && len(r.Problems) > r.Count(reconcile.DeadLettered):
		b.WriteString("run again with --fix to enqueue repairs (with workers caught up: in-flight events look like problems)\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
