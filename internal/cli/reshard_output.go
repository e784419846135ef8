package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/shardline/shardline/internal/reshard"
	"github.com/shardline/shardline/internal/shardmap"
)

// reshardOutput prints what reshard does: each change as it is done, a dry run's plan, and the
// shard map at the end.
type reshardOutput struct{ w io.Writer }

// step reports one split or merge done.
func (o reshardOutput) step(s reshard.Step) { fmt.Fprintf(o.w, "done: %s\n", s) }

// plan prints the steps a scale would make (dry run), then the current map.
func (o reshardOutput) plan(m shardmap.Map, target int, steps []reshard.Step) error {
	fmt.Fprintf(o.w, "plan: %d open shards → %d (%s; new shards are named new-1, new-2… here)\n", len(m.Open()), target, opsPlural(len(steps), "step"))
	for _, s := range steps {
		fmt.Fprintf(o.w, "  %s\n", s)
	}
	return writeShardMap(o.w, m)
}

// nothingToDo reports a scale to the layout the stream already has.
func (o reshardOutput) nothingToDo(target int) {
	fmt.Fprintf(o.w, "already %d open shards of equal ranges: nothing to do\n", target)
}

// result prints the stream's shard map once it is ACTIVE again.
func (o reshardOutput) result(stream string, m shardmap.Map) error {
	fmt.Fprintf(o.w, "stream %s is ACTIVE; shard map:\n", stream)
	return writeShardMap(o.w, m)
}

// writeShardMap writes a shard map as a table in hash-key order: open shards with their share of
// the hash-key space, closed ones (kept until they pass retention) marked as such.
func writeShardMap(w io.Writer, m shardmap.Map) error {
	return writeText(w, func(b *strings.Builder) error {
		open := m.Open()
		fmt.Fprintf(b, "%d open shards (%d closed)\n", len(open), len(m)-len(open))
		if err := table(b, "SHARD\tSTATE\tPARENTS\tSTARTING HASH KEY\tSHARE", func(tw io.Writer) {
			for _, s := range m {
				st, share := "open", fmt.Sprintf("%.1f%%", 100*s.Share())
				if !s.Open {
					st, share = "closed", "-"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.ID, st, parents(s.Parents), s.Start, share)
			}
		}); err != nil {
			return err
		}
		return nil
	})
}
