package chaos

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Write prints the report.
func (r *Report) Write(out io.Writer) {
	fmt.Fprintln(out)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	row := func(name string, v any) { fmt.Fprintf(tw, "  %s\t%v\n", name, v) }
	row("seed", r.Seed)
	row("load", fmt.Sprintf("%s, %d keys, %d workers", r.Duration, r.Keys, r.Workers))
	row("operations issued", fmt.Sprintf("%d puts, %d deletes (%d failed)", r.Puts, r.Deletes, r.FailedOps))
	row("notifications from MinIO", r.Notifications)
	row("injected duplicates / reordered", fmt.Sprintf("%d / %d", r.Duplicated, r.Reordered))
	row("events forwarded", r.Forwarded)
	row("applied", r.Applied)
	row("duplicates dropped", r.Duplicates)
	row("stale dropped", r.Stale)
	row("superseded in a batch", r.Superseded)
	row("dead-lettered", r.DeadLettered)
	row("ledger conflicts / output repairs / late writes fenced", fmt.Sprintf("%.0f / %.0f / %.0f", r.Conflicts, r.Repairs, r.Fenced))
	row("kills (-9) / pauses past lease", fmt.Sprintf("%d / %d", r.Kills, r.Pauses))
	row("workers added / removed (SIGTERM)", fmt.Sprintf("%d / %d", r.Added, r.Removed))
	row("graceful stops", durations(r.GracefulStops))
	row("reshards", strings.Join(r.Reshards, "; "))
	row("lease moves", r.LeaseMoves)
	row("failover after kill (lease "+r.LeaseDuration.String()+")", durations(r.Failovers))
	row("catch-up after load stopped", r.CatchUp.Round(100*time.Millisecond))
	row("keys checked", r.KeysChecked)
	row("VIOLATIONS", len(r.Violations))
	tw.Flush()
	fmt.Fprintln(out, "  (worker counters are summed from 1 s scrapes; a killed worker's last second is not counted)")
	for _, e := range r.InjectorErrors {
		fmt.Fprintf(out, "  injector error: %s\n", e)
	}
	if r.NotCaughtUpWhy != "" {
		fmt.Fprintf(out, "  NOT CAUGHT UP: %s\n", r.NotCaughtUpWhy)
	}
	for _, v := range r.Violations {
		fmt.Fprintf(out, "\n  VIOLATION %s: %s\n    input etag %q, output source-etag %q (sequencer %s)\n    ledger: %s\n",
			v.Key, v.Problem, v.Input, v.Output, v.OutSeq, v.Ledger)
		for _, o := range v.History {
			fmt.Fprintf(out, "    %s %-6s %s\n", o.At.Format("15:04:05.000"), o.Kind, o.ETag)
		}
	}
}

// durations summarises a list as "n: min … max (mean)".
func durations(ds []time.Duration) string {
	if len(ds) == 0 {
		return "-"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	r := func(d time.Duration) time.Duration { return d.Round(100 * time.Millisecond) }
	return fmt.Sprintf("%d: min %s, max %s, mean %s", len(s), r(s[0]), r(s[len(s)-1]), r(sum/time.Duration(len(s))))
}
