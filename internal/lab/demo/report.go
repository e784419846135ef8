package demo

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/shardline/shardline/internal/lab/scrape"
)

func report(out io.Writer, received int, fwd, wk scrape.Metrics, v verification, caughtUp time.Duration, logDir string) {
	fmt.Fprintln(out)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	row := func(name string, value any) { fmt.Fprintf(tw, "  %s\t%v\n", name, value) }
	row("events received (webhook + resent)", received)
	row("skipped by forwarder (test events etc.)", fwd.Sum("shardline_forwarder_events_skipped_total"))
	row("forwarded to the stream", fwd.Sum("shardline_forwarder_records_forwarded_total"))
	row("applied", wk.Sum("shardline_worker_records_total", "outcome=applied"))
	row("duplicate dropped", wk.Sum("shardline_worker_records_total", "outcome=duplicate"))
	row("stale dropped", wk.Sum("shardline_worker_records_total", "outcome=stale"))
	row("superseded in a batch", wk.Sum("shardline_worker_records_total", "outcome=superseded"))
	row("dead-lettered", wk.Sum("shardline_worker_records_total", "outcome=dead_lettered"))
	row("ledger conflicts repaired", wk.Sum("shardline_worker_ledger_conflicts_total"))
	row("outputs present / expected", fmt.Sprintf("%d / %d", v.present, v.expected))
	row("time to catch up", caughtUp.Round(100*time.Millisecond))
	tw.Flush()

	keys := make([]string, 0, len(v.dead))
	for k := range v.dead {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintln(out, "\n  dead letters:")
	for _, k := range keys {
		fmt.Fprintf(out, "    %-28s %s\n", k, v.dead[k])
	}
	problems := map[string][]string{
		"missing output": v.missing, "stale output": v.stale, "orphan output": v.orphans,
		"output for a bad input": v.badOutputs,
	}
	bad := false
	for _, name := range []string{"missing output", "stale output", "orphan output", "output for a bad input"} {
		if len(problems[name]) > 0 {
			bad = true
			fmt.Fprintf(out, "  %s: %s\n", name, strings.Join(problems[name], ", "))
		}
	}
	for key, reason := range v.badWant {
		if !strings.HasPrefix(v.dead[key], reason) {
			bad = true
			fmt.Fprintf(out, "  %s: want dead letter %q, got %q\n", key, reason, v.dead[key])
		}
	}
	if bad {
		fmt.Fprintf(out, "\nRESULT: FAIL (logs in %s/demo-*.log)\n", logDir)
		return
	}
	fmt.Fprintf(out, "\nRESULT: OK: every output matches its input's final state (logs in %s/demo-*.log)\n", logDir)
}
