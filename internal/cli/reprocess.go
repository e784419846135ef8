package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/shardline/shardline/internal/ledger"
	"github.com/shardline/shardline/internal/progress"
	"github.com/shardline/shardline/internal/reprocess"
	"github.com/shardline/shardline/internal/shardscan"
)

func runReprocess(ctx context.Context, env *Env, args []string) error {
	fs := flag.NewFlagSet("reprocess", flag.ContinueOnError)
	var (
		c         common
		from      string
		bump      bool
		force     bool
		dryRun    bool
		asJSON    bool
		scanLimit int
	)
	c.register(fs, streamFlag)
	leaseTableFlag(fs, &c)
	ledgerTableFlag(fs, &c)
	fs.StringVar(&from, "from", "", "where replay starts: trim-horizon, an RFC 3339 time, or <shard>:<sequence> (required)")
	fs.BoolVar(&bump, "epoch-bump", false, "raise the ledger epoch so that replayed events apply again (else they are dropped as duplicates)")
	fs.BoolVar(&force, "force-after-stop", false, "rewind although leases look live (left by killed workers); only when no worker runs")
	fs.BoolVar(&dryRun, "dry-run", false, "show the new checkpoints, change nothing")
	fs.BoolVar(&asJSON, "json", false, "print the result as JSON")
	fs.IntVar(&scanLimit, "scan-limit", shardscan.DefaultLimit, "most records read per shard to turn --from into a checkpoint")
	if err := parse(fs, args, env); err != nil {
		return err
	}
	f, err := reprocess.ParseFrom(from)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if _, err := c.logger(env.Stderr); err != nil {
		return err
	}
	clients, err := c.clients(ctx)
	if err != nil {
		return err
	}
	leases, err := opsCheckpointer(clients.DynamoDB, c.leaseTable)
	if err != nil {
		return err
	}
	led, err := ledger.New(clients.DynamoDB, c.ledgerTable)
	if err != nil {
		return err
	}
	line := progress.New(env.Stderr)
	res, err := reprocess.Run(ctx, reprocess.Config{
		Kinesis: clients.Kinesis, Leases: leases, Epochs: led, Stream: c.stream, From: f,
		EpochBump: bump, ForceAfterStop: force, DryRun: dryRun, ScanLimit: scanLimit,
		OnShard: func(done, total int, phase string) { line.Printf("reprocess: %d/%d shards %s", done, total, phase) },
	})
	line.Done()
	if err != nil && len(res.Changes) == 0 {
		return err
	}
	if asJSON {
		if jerr := opsJSON(env.Stdout, res, true); jerr != nil {
			return jerr
		}
		return err
	}
	if werr := writeReprocess(env.Stdout, res); werr != nil {
		return werr
	}
	return err
}

// writeReprocess prints what reprocess did (or would do) and what the operator does next.
func writeReprocess(w io.Writer, r reprocess.Result) error {
	var b strings.Builder
	verb := "rewound"
	if r.DryRun {
		verb = "would rewind (dry run)"
	}
	rewinds := 0
	for _, c := range r.Changes {
		if c.Rewind {
			rewinds++
		}
	}
	n := r.Rewound
	if r.DryRun {
		n = rewinds
	}
	fmt.Fprintf(&b, "reprocess from %s: %s %d of %s\n", r.From, verb, n, opsPlural(len(r.Changes), "shard"))
	if len(r.Forced) > 0 {
		fmt.Fprintf(&b, "forced: removed the live-looking leases of %s (--force-after-stop)\n", strings.Join(r.Forced, " "))
	}
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SHARD\tCHECKPOINT\tNEW CHECKPOINT\tWHY")
	for _, c := range r.Changes {
		to := "unchanged"
		if c.Rewind {
			to = checkpointName(c.To)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Shard, checkpointName(c.From), to, c.Why)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	switch {
	case r.EpochBumped:
		fmt.Fprintf(&b, "ledger epoch %d → %d: each object's latest event applies again when replayed (older ones stay stale)\n", r.EpochBefore, r.EpochAfter)
	case r.DryRun && r.EpochAfter > r.EpochBefore:
		fmt.Fprintf(&b, "would raise the ledger epoch %d → %d\n", r.EpochBefore, r.EpochAfter)
	default:
		b.WriteString("ledger epoch unchanged: replayed events already applied are dropped as duplicates\n")
	}
	if !r.DryRun {
		b.WriteString("next: start the workers (they read the epoch when they take a lease); follow the replay with 'shardline status --watch'\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func checkpointName(cp string) string {
	if cp == "" {
		return "TRIM_HORIZON"
	}
	return cp
}
