// Package labcli is the command line of shardline-lab, the lab's binary: the end-to-end demo,
// the chaos run and the performance table. They drive the production binary (bin/shardline)
// as forwarder and workers; nothing here ships in it. Flags work as shardline's: every flag can
// also be set as SHARDLINE_<FLAG>, and the command line wins.
package labcli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/shardline/shardline/internal/cli"
	"github.com/shardline/shardline/internal/lab/bench"
)

// Lab is the program of bin/shardline-lab.
func Lab() cli.Program {
	return cli.Program{Name: "shardline-lab", Commands: []cli.Command{
		{Name: "demo", Summary: "run the end-to-end demo against the local stack",
			Shared: cli.AWS | cli.TextLogs, Flags: demoFlags},
		{Name: "chaos", Summary: "prove the guarantee under faults against the local stack (kills, pauses, reshards)",
			Shared: cli.AWS | cli.TextLogs, Flags: chaosFlags},
		{Name: "bench", Summary: "print the performance table (make bench) against the local stack",
			Shared: cli.AWSFlags, Flags: benchFlags},
		// The bench re-runs this binary as its child processes, named by the first argument.
		{Name: bench.ChildCommand, Hidden: true, Run: imageChild},
		{Name: bench.WorkerChildCommand, Hidden: true, Run: consumerChild(bench.WorkerChildCommand)},
		{Name: bench.KCLChildCommand, Hidden: true, Run: consumerChild(bench.KCLChildCommand)},
	}}
}

// Main runs the lab program and returns the process exit status.
func Main(ctx context.Context, args []string, env *cli.Env) int {
	return Lab().Main(ctx, args, env)
}

// errNoShardline: demo and chaos start the production binary, built next to this one.
var errNoShardline = errors.New("the production binary shardline is neither next to shardline-lab nor on PATH (make build builds both into bin/)")

// shardlineBinary is the production executable the demo and chaos run as forwarder and
// workers: shardline in the directory of this executable, else shardline on PATH.
func shardlineBinary() (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find own executable: %w", err)
	}
	return shardlineNextTo(self)
}

// shardlineNextTo is shardline in the directory of the executable self, else shardline on PATH.
func shardlineNextTo(self string) (string, error) {
	sibling := filepath.Join(filepath.Dir(self), "shardline")
	if _, err := os.Stat(sibling); err == nil {
		return sibling, nil
	}
	if p, err := exec.LookPath("shardline"); err == nil {
		return p, nil
	}
	return "", errNoShardline
}
