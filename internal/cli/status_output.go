package cli

import (
	"fmt"
	"io"

	"github.com/shardline/shardline/internal/status"
)

// statusOutput prints status samples: tables (status.WriteText) or JSON, indented for one
// sample and one object per line with --watch. With --watch, a terminal is redrawn for each
// sample; elsewhere a blank line separates the tables.
type statusOutput struct {
	w                    io.Writer
	asJSON, watch, clear bool
}

func newStatusOutput(w io.Writer, asJSON, watch bool) statusOutput {
	return statusOutput{w: w, asJSON: asJSON, watch: watch, clear: watch && !asJSON && opsIsTerminal(w)}
}

func (o statusOutput) write(r status.Report) error {
	switch {
	case o.clear:
		fmt.Fprint(o.w, "\x1b[H\x1b[2J")
	case o.watch && !o.asJSON:
		fmt.Fprintln(o.w)
	}
	if o.asJSON {
		return opsJSON(o.w, r, !o.watch)
	}
	return status.WriteText(o.w, r)
}
