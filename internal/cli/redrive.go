package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/shardline/shardline/internal/deadletter"
	"github.com/shardline/shardline/internal/ledger"
	"github.com/shardline/shardline/internal/progress"
	"github.com/shardline/shardline/internal/redrive"
)

func runRedrive(ctx context.Context, env *Env, args []string) error {
	fs := flag.NewFlagSet("redrive", flag.ContinueOnError)
	var (
		c        common
		filter   redrive.Filter
		dryRun   bool
		asJSON   bool
		deadline time.Duration
	)
	c.register(fs, streamFlag)
	ledgerTableFlag(fs, &c)
	fs.StringVar(&c.deadLetterTable, "dead-letter-table", "shardline-dead-letters", "DynamoDB table for dead-lettered records")
	fs.StringVar(&filter.Reason, "reason", "", "redrive only letters with this reason (e.g. retries_exhausted)")
	fs.StringVar(&filter.Key, "key", "", "redrive only letters of this object key (or bucket/key)")
	fs.BoolVar(&dryRun, "dry-run", false, "list the letters that would be redriven, change nothing")
	fs.BoolVar(&asJSON, "json", false, "print the result as JSON")
	durationFlag(fs, &deadline, "redrive-deadline", 2*time.Minute, "how long refused records are retried before redrive gives up (their letters stay)")
	if err := parse(fs, args, env); err != nil {
		return err
	}
	if _, err := c.logger(env.Stderr); err != nil {
		return err
	}
	clients, err := c.clients(ctx)
	if err != nil {
		return err
	}
	letters, err := deadletter.New(clients.DynamoDB, c.deadLetterTable)
	if err != nil {
		return err
	}
	led, err := ledger.New(clients.DynamoDB, c.ledgerTable)
	if err != nil {
		return err
	}
	line := progress.New(env.Stderr)
	res, err := redrive.Run(ctx, redrive.Config{
		Kinesis: clients.Kinesis, Letters: letters, Ledger: led, Stream: c.stream,
		Filter: filter, DryRun: dryRun, Deadline: deadline,
		OnProgress: func(p redrive.Progress) {
			line.Printf("redrive: %d/%d in the stream, %s removed", p.InStream, p.Selected, opsPlural(p.Deleted, "letter"))
		},
	})
	line.Done()
	if err != nil && res.Selected == 0 {
		return err // nothing listed: the stream or a table cannot be used
	}
	if asJSON {
		err = errors.Join(opsJSON(env.Stdout, res, true), err)
	} else {
		err = errors.Join(writeRedrive(env.Stdout, res, dryRun), err)
	}
	if err != nil || dryRun {
		return err
	}
	return redriveStatus(res)
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

func writeRedrive(w io.Writer, r redrive.Result, dryRun bool) error {
	var b strings.Builder
	switch {
	case r.Selected == 0:
		b.WriteString("no dead letters match\n")
	case dryRun:
		fmt.Fprintf(&b, "would redrive %s (dry run)\n", opsPlural(r.Selected, "dead letter"))
	default:
		fmt.Fprintf(&b, "redrove %d of %s: %s in the stream, %s removed\n", r.Deleted, opsPlural(r.Selected, "dead letter"),
			opsPlural(r.InStream, "record"), opsPlural(r.Deleted, "letter"))
	}
	if r.Selected > 0 {
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "LETTER\tREASON\tOBJECT\tLEDGER\tRESULT")
		for _, l := range r.Letters {
			result := "kept"
			switch {
			case dryRun:
				result = "-"
			case l.Done:
				result = "redriven"
			case l.Error != "":
				result = "kept: " + l.Error
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", l.ID, l.Reason, orDash(l.Object), orDash(l.Ledger), result)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if !dryRun && r.Deleted > 0 {
		b.WriteString("ledger: reopened = the event applies again; superseded = a newer event won, the copy will be dropped as stale\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// opsPlural is "1 noun" or "n nouns".
func opsPlural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
