package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/shardline/shardline/internal/redrive"
)

// writeRedrive prints the letters redrive selected and what became of each, or with asJSON the
// result as JSON.
func writeRedrive(w io.Writer, r redrive.Result, dryRun, asJSON bool) error {
	return render(w, asJSON, r, func(b *strings.Builder) error {
		switch {
		case r.Selected == 0:
			b.WriteString("no dead letters match\n")
		case dryRun:
			fmt.Fprintf(b, "would redrive %s (dry run)\n", opsPlural(r.Selected, "dead letter"))
		default:
			fmt.Fprintf(b, "redrove %d of %s: %s in the stream, %s removed\n", r.Deleted, opsPlural(r.Selected, "dead letter"),
				opsPlural(r.InStream, "record"), opsPlural(r.Deleted, "letter"))
		}
		if r.Selected > 0 {
			if err := table(b, "LETTER\tREASON\tOBJECT\tLEDGER\tRESULT", func(tw io.Writer) {
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
			}); err != nil {
				return err
			}
		}
		if !dryRun && r.Deleted > 0 {
			b.WriteString("ledger: reopened = the event applies again; superseded = a newer event won, the copy will be dropped as stale\n")
		}
		return nil
	})
}
