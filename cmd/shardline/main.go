// Command shardline forwards S3 events into Kinesis and processes them in order. See
// `shardline help` and the README.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/shardline/shardline/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], &cli.Env{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv})
	stop()
	os.Exit(code)
}
