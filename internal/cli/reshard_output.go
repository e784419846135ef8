package cli

import (
	"fmt"
	"io"

	"github.com/shardline/shardline/internal/reshard"
	"github.com/shardline/shardline/internal/shardmap"
)

// reshardOutput prints what reshard does: each change as it is done, a dry run's plan, and the
// shard map at the end (reshard.WriteMap).
type reshardOutput struct{ w io.Writer }

// step reports one split or merge done.
func (o reshardOutput) step(s reshard.Step) { fmt.Fprintf(o.w, "done: %s\n", s) }

// plan prints the steps a scale would make (dry run), then the current map.
func (o reshardOutput) plan(m shardmap.Map, target int, steps []reshard.Step) error {
	fmt.Fprintf(o.w, "plan: %d open shards → %d (%s; new shards are named new-1, new-2… here)\n", len(m.Open()), target, opsPlural(len(steps), "step"))
	for _, s := range steps {
		fmt.Fprintf(o.w, "  %s\n", s)
	}
	return reshard.WriteMap(o.w, m)
}

// nothingToDo reports a scale to the layout the stream already has.
func (o reshardOutput) nothingToDo(target int) {
	fmt.Fprintf(o.w, "already %d open shards of equal ranges: nothing to do\n", target)
}

// result prints the stream's shard map once it is ACTIVE again.
func (o reshardOutput) result(stream string, m shardmap.Map) error {
	fmt.Fprintf(o.w, "stream %s is ACTIVE; shard map:\n", stream)
	return reshard.WriteMap(o.w, m)
}
