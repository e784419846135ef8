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
	if r.Versioned {
		row("versioned input bucket", fmt.Sprintf("%d delete markers, %d current and %d non-current version deletes, %d delete markers removed",
			r.LoadOps[opDelete], r.LoadOps[opDeleteCurrent], r.LoadOps[opDeleteNoncurrent], r.LoadOps[opRemoveMarker]))
	} else {
		row("versioned input bucket", "off")
	}
	row("notifications from MinIO", r.Notifications)
	row("injected duplicates / reordered", fmt.Sprintf("%d / %d", r.Duplicated, r.Reordered))
	row("events forwarded", r.Forwarded)
	row("applied", r.Applied)
	row("duplicates dropped", r.Duplicates)
	row("stale dropped", r.Stale)
	row("superseded in a batch", r.Superseded)
	row("dead-lettered", r.DeadLettered)
	row("ledger conflicts / output repairs / late writes fenced", fmt.Sprintf("%.0f / %.0f / %.0f", r.Conflicts, r.Repairs, r.Fenced))
	row("writes refused by a conditional write / outputs found in sync", fmt.Sprintf("%.0f / %.0f", r.Refused, r.InSync))
	row("output checks after", checks(r.Checks))
	row("kills (-9) / pauses past lease", fmt.Sprintf("%d / %d", r.Kills, r.Pauses))
	row("pauses aimed right after an input read / holding a ledger commit", fmt.Sprintf("%d / %d", r.AimedPauses, r.AimedCommitPauses))
	row("double faults: kills during a pause / right after a commit", fmt.Sprintf("%d / %d", r.KillsInPause, r.KillsAfterCommit))
	row("workers added / removed (SIGTERM)", fmt.Sprintf("%d / %d", r.Added, r.Removed))
	row("graceful stops", durations(r.GracefulStops))
	row("reshards", strings.Join(r.Reshards, "; "))
	row("lease moves", r.LeaseMoves)
	row("failover after kill (lease "+r.LeaseDuration.String()+")", durations(r.Failovers))
	row("catch-up after load stopped", r.CatchUp.Round(100*time.Millisecond))
	r.writeAPIFaults(row)
	r.writeOperators(row)
	a := r.Accounting
	row("records received / finished (all outcomes)", fmt.Sprintf("%.0f / %.0f (%.0f received but left unfinished by that worker: abandoned at a kill, lease loss or stop, re-read by the next owner)",
		a.Received, a.Finished, a.Received-a.Finished))
	row("workers scraped / killed before a scrape", fmt.Sprintf("%d / %d", a.Scraped, a.Unscraped))
	row("dead letters left / redriven / ledger entries dead-lettered", fmt.Sprintf("%d / %d / %d", a.Letters, a.Redriven, a.LedgerDeadLettered))
	row("ACCOUNTING PROBLEMS", len(a.Problems))
	row("protective paths exercised", r.exercised())
	row("keys checked", r.KeysChecked)
	row("VIOLATIONS", len(r.Violations))
	tw.Flush()
	fmt.Fprintln(out, "  (worker counters are summed from 1 s scrapes; a killed worker's last second is not counted)")
	for _, p := range a.Problems {
		fmt.Fprintf(out, "  ACCOUNTING: %s\n", p)
	}
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
			fmt.Fprintf(out, "    %s %-25s %s %s\n", o.At.Format("15:04:05.000"), o.Kind, o.ETag, o.Version)
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

// writeOperators adds the operator commands' rows.
func (r *Report) writeOperators(row func(string, any)) {
	if r.OperatorsOff {
		row("operator commands", "off")
		return
	}
	var runs []string
	for _, op := range []string{opReconcile, opRedrive, opReprocess, opScale} {
		runs = append(runs, fmt.Sprintf("%s %d", op, r.OperatorRuns[op]))
	}
	row("operator commands run", strings.Join(runs, ", "))
	row("  reconcile: problems found / repairs enqueued", fmt.Sprintf("%d / %d", r.ReconcileFound, r.ReconcileFixes))
	row("  redrive: letters put back / left pending", fmt.Sprintf("%d / %d", r.LettersRedriven, r.LettersPending))
	row("  reprocess: workers down for", durations(r.ReprocessDownFor))
	for _, l := range r.OperatorLog {
		row("  ran", l)
	}
}

// checks lists the output checks per reason.
func checks(m map[string]float64) string {
	var parts []string
	for _, k := range []string{"commit", "conflict", "duplicate", "own_write", "fence", "dead_letter"} {
		parts = append(parts, fmt.Sprintf("%s %.0f", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// exercised lists the protective paths the issue requires to be reached, each with its count;
// a path not reached is marked.
func (r *Report) exercised() string {
	lost := apifault.Total(r.APIFaults, apifault.KindLost)
	versionDeletes := r.LoadOps[opDeleteCurrent] + r.LoadOps[opDeleteNoncurrent]
	paths := []struct {
		name string
		n    float64
	}{
		{"ledger conflicts", r.Conflicts},
		{"late writes fenced or refused", r.Fenced + r.Refused},
		{"repairs", r.Repairs},
		{"lost-response retries", float64(lost)},
		{"version deletes", float64(versionDeletes)},
	}
	var parts []string
	for _, p := range paths {
		s := fmt.Sprintf("%s %.0f", p.name, p.n)
		if p.n == 0 {
			s += " (NOT REACHED)"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}
