package reshard

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/shardline/shardline/internal/shardmap"
)

// WriteMap writes a shard map as a table in hash-key order: open shards with their share of the
// hash-key space, closed ones (kept until they pass retention) marked as such.
func WriteMap(w io.Writer, m shardmap.Map) error {
	var b strings.Builder
	open := m.Open()
	fmt.Fprintf(&b, "%d open shards (%d closed)\n", len(open), len(m)-len(open))
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SHARD\tSTATE\tPARENTS\tSTARTING HASH KEY\tSHARE")
	for _, s := range m {
		st, share := "open", fmt.Sprintf("%.1f%%", 100*s.Share())
		if !s.Open {
			st, share = "closed", "-"
		}
		parents := strings.Join(s.Parents, "+")
		if parents == "" {
			parents = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.ID, st, parents, s.Start, share)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := io.WriteString(w, b.String())
	return err
}
