// Package cli implements the shardline command line: one binary with subcommands. Every flag can
// also be set by an environment variable named SHARDLINE_<FLAG> (upper case, '-' → '_'); a flag
// on the command line wins over the environment. The lab's binary (internal/lab/labcli) is built
// from the same Program and Command types.
package cli

import (
	"context"
	"fmt"
	"io"
)

// Version is set at build time with -ldflags "-X github.com/shardline/shardline/internal/cli.Version=…".
var Version = "dev"

// Env is what a command needs from the process: output streams and the environment lookup.
type Env struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string
}

// Shardline is the production program, bin/shardline: the forwarder, the worker and the
// operations commands. The demo, chaos and benchmark harness is not part of it.
func Shardline() Program {
	return Program{Name: "shardline", Commands: commands()}
}

// Main runs the production program (Shardline) and returns the process exit status.
func Main(ctx context.Context, args []string, env *Env) int {
	return Shardline().Main(ctx, args, env)
}

func commands() []Command {
	return []Command{
		{Name: "forward", Summary: "receive S3 notifications (HTTP webhook) and write them to the stream",
			Shared: AWS | Stream, Flags: forwardFlags},
		{Name: "work", Summary: "run a KCL worker: ledger check, handler, checkpoints",
			Shared: AWS | Stream | Tables, Flags: workFlags},
		{Name: "setup", Summary: "create the stream, tables and buckets if missing (local stack, tests)",
			Shared: AWS | Stream | Tables, Flags: setupFlags},
		{Name: "status", Summary: "show shards, leases, checkpoints, lag and rates (--watch, --json)",
			Shared: AWS | Stream | LeaseTable, Flags: statusFlags},
		{Name: "reshard", Summary: "split or merge shards, or scale the stream to N shards", Run: runReshard},
		{Name: "reprocess", Summary: "rewind checkpoints so that workers replay (--epoch-bump: apply again)",
			Shared: AWS | Stream | LeaseTable | LedgerTable | JSON, Flags: reprocessFlags},
		{Name: "redrive", Summary: "put dead-lettered records back into the stream",
			Shared: AWS | Stream | LedgerTable | DeadLetterTable | JSON, Flags: redriveFlags},
		{Name: "replay-failures", Summary: "put the forwarder Lambda's failure-queue messages back into the stream",
			Shared: AWS | Stream | JSON, Flags: replayFlags},
		{Name: "reconcile", Summary: "compare input and output buckets; --fix enqueues repairs",
			Shared: AWS | Stream | LedgerTable | JSON, Flags: reconcileFlags},
		{Name: "ledger", Summary: "reset one object's ledger entry and enqueue a converging event (ledger reset)", Run: runLedger},
		{Name: "healthcheck", Summary: "probe a /healthz endpoint (container health check; no shell needed)", Flags: healthcheckFlags},
		{Name: "version", Summary: "print the version", Run: func(_ context.Context, env *Env, _ []string) error {
			_, err := fmt.Fprintln(env.Stdout, "shardline", Version)
			return err
		}},
	}
}
