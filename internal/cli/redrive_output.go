package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/shardline/shardline/internal/redrive"
)

// writeRedrive prints the letters redrive selected and what became of each, or with asJSON the
// result as JSON.
func writeRedrive(w io.Writer, r redrive.Result, dryRun, asJSON bool) error {
	if asJSON {
		return opsJSON(w, r, true)
	}
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
