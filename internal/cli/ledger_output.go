package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/shardline/shardline/internal/ledgerreset"
)

// writeLedgerReset prints what ledger reset found and did, and what happens next, or with
// asJSON the result as JSON.
func writeLedgerReset(w io.Writer, r ledgerreset.Result, runErr error, asJSON bool) error {
	return render(w, asJSON, r, func(b *strings.Builder) error {
		fmt.Fprintf(b, "object %s\n", r.Object)
		if r.Entry != nil {
			e := r.Entry
			fmt.Fprintf(b, "ledger entry: sequencer %s, epoch %d, op %s, outcome %s, updated %s by %s\n",
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
				fmt.Fprintf(b, "would enqueue a converging event, sequencer %s (dry run)\n", r.Event.Sequencer)
			}
		default:
			if r.Reset {
				b.WriteString("entry reset: every event of the object applies again\n")
			}
			if r.Enqueued {
				fmt.Fprintf(b, "converging event enqueued, sequencer %s: a worker makes the output match the input's current state\n", r.Event.Sequencer)
			} else if runErr != nil {
				fmt.Fprintf(b, "converging event not enqueued: %v\n", runErr)
			}
		}
		return nil
	})
}
