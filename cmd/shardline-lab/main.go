// Command shardline-lab runs the lab: the end-to-end demo (`make demo`), the chaos run (`make
// chaos`) and the performance table (`make bench`), against the local stack. The demo and chaos
// start the production binary, bin/shardline, as forwarder and workers. See
// `shardline-lab help` and the README.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/shardline/shardline/internal/cli"
	"github.com/shardline/shardline/internal/lab/labcli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := labcli.Main(ctx, os.Args[1:], &cli.Env{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv})
	stop()
	os.Exit(code)
}
