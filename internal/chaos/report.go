package chaos

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/shardline/shardline/internal/lab/apifault"
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
	row("double faults: kills during a pause / right after a commit", fmt.Sprintf("%d / %d", r.KillsInPause, r.KillsAfterCommit))
	row("workers added / removed (SIGTERM)", fmt.Sprintf("%d / %d", r.Added, r.Removed))
	row("graceful stops", durations(r.GracefulStops))
	row("reshards", strings.Join(r.Reshards, "; "))
	row("lease moves", r.LeaseMoves)
	row("failover after kill (lease "+r.LeaseDuration.String()+")", durations(r.Failovers))
	row("catch-up after load stopped", r.CatchUp.Round(100*time.Millisecond))
	r.writeAPIFaults(row)
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

// apiFaultKinds are the injected API fault kinds in report order.
var apiFaultKinds = []apifault.Kind{apifault.KindThrottle, apifault.KindServerError, apifault.KindReset, apifault.KindLost, apifault.KindSlow}

// writeAPIFaults adds the AWS API fault rows: totals per kind, then one row per service and
// operation with its counts per kind.
func (r *Report) writeAPIFaults(row func(string, any)) {
	if r.APIFaultsOff {
		row("AWS API faults", "off")
		return
	}
	var totals []string
	for _, k := range apiFaultKinds {
		totals = append(totals, fmt.Sprintf("%s %d", k, apifault.Total(r.APIFaults, k)))
	}
	row("AWS API faults injected", strings.Join(totals, ", "))
	row("lost responses (committed upstream, reply dropped)", apifault.Total(r.APIFaults, apifault.KindLost))
	type opKey struct {
		svc apifault.Service
		op  string
	}
	var order []opKey
	byOp := map[opKey][]string{}
	for _, c := range r.APIFaults { // sorted by service, operation, kind
		k := opKey{c.Service, c.Operation}
		if _, seen := byOp[k]; !seen {
			order = append(order, k)
		}
		byOp[k] = append(byOp[k], fmt.Sprintf("%s %d", c.Kind, c.N))
	}
	for _, k := range order {
		row(fmt.Sprintf("  %s %s", k.svc, k.op), strings.Join(byOp[k], ", "))
	}
}
