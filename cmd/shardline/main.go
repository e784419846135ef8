// Command shardline forwards S3 events into Kinesis and processes them in order. See
// `shardline help` and the README.
package main

import (
	"context"
	"log/slog"
	"math"
	"os"
	"os/signal"
	"syscall"

	"github.com/KimMachineGun/automemlimit/memlimit"

	"github.com/shardline/shardline/internal/cli"
)

func main() {
	setMemoryLimit()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], &cli.Env{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv})
	stop()
	os.Exit(code)
}

// setMemoryLimit sets the Go memory limit to 90% of the container's cgroup memory limit, unless
// GOMEMLIMIT is set (then it is kept) or AUTOMEMLIMIT=off, and logs the limit chosen. The
// grayscale handler's default memory budget is half of it.
func setMemoryLimit() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	limit, err := memlimit.Set(memlimit.WithProvider(memlimit.FromCgroup))
	source := "cgroup"
	switch {
	case os.Getenv("GOMEMLIMIT") != "":
		source = "GOMEMLIMIT"
	case os.Getenv("AUTOMEMLIMIT") == "off":
		source = "AUTOMEMLIMIT=off"
	}
	if err != nil {
		log.Warn("memory limit: cannot read the cgroup limit; GOMEMLIMIT unchanged",
			slog.String("error", err.Error()), slog.Int64("gomemlimit_bytes", limit))
		return
	}
	if limit == math.MaxInt64 {
		log.Info("memory limit: none (no cgroup memory limit, no GOMEMLIMIT)")
		return
	}
	log.Info("memory limit", slog.Int64("gomemlimit_bytes", limit), slog.String("source", source))
}
