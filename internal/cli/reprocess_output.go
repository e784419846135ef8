package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/shardline/shardline/internal/reprocess"
)

// writeReprocess prints what reprocess did (or would do) and what the operator does next, or
// with asJSON the result as JSON.
func writeReprocess(w io.Writer, r reprocess.Result, asJSON bool) error {
	return render(w, asJSON, r, func(b *strings.Builder) error {
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
		fmt.Fprintf(b, "reprocess from %s: %s %d of %s\n", r.From, verb, n, opsPlural(len(r.Changes), "shard"))
		if len(r.Forced) > 0 {
			fmt.Fprintf(b, "forced: removed the live-looking leases of %s (--force-after-stop)\n", strings.Join(r.Forced, " "))
		}
		if err := table(b, "SHARD\tCHECKPOINT\tNEW CHECKPOINT\tWHY", func(tw io.Writer) {
			for _, c := range r.Changes {
				to := "unchanged"
				if c.Rewind {
					to = checkpointName(c.To)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Shard, checkpointName(c.From), to, c.Why)
			}
		}); err != nil {
			return err
		}
		switch {
		case r.EpochBumped:
			fmt.Fprintf(b, "ledger epoch %d → %d: each object's latest event applies again when replayed (older ones stay stale)\n", r.EpochBefore, r.EpochAfter)
		case r.DryRun && r.EpochAfter > r.EpochBefore:
			fmt.Fprintf(b, "would raise the ledger epoch %d → %d\n", r.EpochBefore, r.EpochAfter)
		default:
			b.WriteString("ledger epoch unchanged: replayed events already applied are dropped as duplicates\n")
		}
		if !r.DryRun {
			b.WriteString("next: start the workers (they read the epoch when they take a lease); follow the replay with 'shardline status --watch'\n")
		}
		return nil
	})
}

func checkpointName(cp string) string {
	if cp == "" {
		return "TRIM_HORIZON"
	}
	return cp
}
