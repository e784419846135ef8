package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/shardline/shardline/internal/replay"
)

// stoppedText says why a replay ended.
var stoppedText = map[string]string{
	replay.StoppedEmpty:         "the queue has no message left to try",
	replay.StoppedMaxMessages:   "--max-messages reached",
	replay.StoppedForwardFailed: "Kinesis did not take a message's events; later messages were not tried",
	replay.StoppedInterrupted:   "interrupted",
	replay.StoppedReceiveFailed: "receiving failed",
}

// writeReplay prints the messages replay-failures received and what became of each, and why it
// stopped, or with asJSON the result as JSON.
func writeReplay(w io.Writer, r replay.Result, asJSON bool) error {
	return render(w, asJSON, r, func(b *strings.Builder) error {
		switch {
		case r.Received == 0:
			b.WriteString("no message in the failure queue\n")
		case r.DryRun:
			fmt.Fprintf(b, "would replay %d of %s (dry run); %d would stay in the queue\n",
				r.Replayed, opsPlural(r.Received, "message"), r.Received-r.Replayed)
		default:
			fmt.Fprintf(b, "replayed %d of %s: %s deleted, %d left in the queue\n",
				r.Replayed, opsPlural(r.Received, "message"), opsPlural(r.Deleted, "message"), r.Kept)
		}
		if r.Received > 0 {
			if err := table(b, "MESSAGE\tFORMAT\tCONDITION\tEVENTS\tFORWARDED\tREFUSED\tSKIPPED\tRESULT", func(tw io.Writer) {
				for _, m := range r.Messages {
					result := "deleted"
					switch {
					case r.DryRun && m.Error != "":
						result = "would stay: " + m.Error
					case r.DryRun:
						result = "would replay"
					case m.Error != "":
						result = "kept: " + m.Error
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\n", m.ID, orDash(m.Format), orDash(m.Condition),
						m.Events, m.Forwarded, m.Refused, m.Skipped, result)
				}
			}); err != nil {
				return err
			}
		}
		fmt.Fprintf(b, "stopped: %s\n", stoppedText[r.Stopped])
		return nil
	})
}
