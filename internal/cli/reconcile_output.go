package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/shardline/shardline/internal/reconcile"
)

// writeReconcile prints the objects reconcile compared, each problem and its repair, or with
// asJSON the result as JSON.
func writeReconcile(w io.Writer, cfg reconcile.Config, r reconcile.Result, asJSON bool) error {
	return render(w, asJSON, r, func(b *strings.Builder) error {
		fmt.Fprintf(b, "input s3://%s: %d objects; output s3://%s/%s: %d objects\n", cfg.InputBucket, r.Inputs, cfg.OutputBucket, cfg.OutputPrefix, r.Outputs)
		if len(r.Problems) > 0 {
			if err := table(b, "KEY\tPROBLEM\tINPUT ETAG\tOUTPUT SOURCE-ETAG\tREPAIR", func(tw io.Writer) {
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
			}); err != nil {
				return err
			}
		}
		fmt.Fprintf(b, "%d in sync, %d missing, %d orphaned, %d stale, %d dead-lettered\n",
			r.InSync, r.Count(reconcile.Missing), r.Count(reconcile.Orphaned), r.Count(reconcile.Stale), r.Count(reconcile.DeadLettered))
		switch {
		case r.Enqueued > 0:
			fmt.Fprintf(b, "%s enqueued: workers apply them through the ledger like any other event\n", opsPlural(r.Enqueued, "repair event"))
		case !cfg.Fix && len(r.Problems) > r.Count(reconcile.DeadLettered):
			b.WriteString("run again with --fix to enqueue repairs (with workers caught up: in-flight events look like problems)\n")
		}
		return nil
	})
}
