// Command shardline-bench prints shardline's performance table (`make bench`): the image path,
// the pipeline against the local stack's raw ceiling, key concurrency, a hot key and end-to-end
// latency, each measured side by side with its baseline in the same run. It needs the local
// stack (`infra/local/stack.sh up` and `eval "$(infra/local/stack.sh env)"`) for every section
// but image. Every flag can also be set as SHARDLINE_<FLAG>; the command line wins.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/shardline/shardline/internal/awsclients"
	"github.com/shardline/shardline/internal/lab/bench"
	"github.com/shardline/shardline/internal/lab/emulators"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string) int {
	if len(args) > 0 && (args[0] == bench.WorkerChildCommand || args[0] == bench.KCLChildCommand) {
		if err := bench.RunConsumerChild(ctx, args[0], args[1:]); err != nil {
			fmt.Fprintln(os.Stderr, args[0]+":", err)
			return 1
		}
		return 0
	}
	if len(args) > 0 && args[0] == bench.ChildCommand {
		if err := bench.RunImageChild(ctx, args[1:], os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return 0
	}

	fs := flag.NewFlagSet("shardline-bench", flag.ContinueOnError)
	var (
		cfg         bench.Config
		only        string
		logDir      string
		region      string
		s3PathStyle bool
	)
	fs.StringVar(&only, "only", "", "comma-separated sections to run ("+strings.Join(bench.Sections, ",")+"); empty: all")
	fs.StringVar(&cfg.PhotosDir, "photos", bench.DefaultPhotosDir, "directory of JPEG and PNG photos (Debian's mate-backgrounds)")
	fs.StringVar(&cfg.WebhookAddr, "webhook-addr", emulators.DefaultWebhookAddr, "address MinIO's webhook target posts to")
	fs.StringVar(&cfg.NotifyARN, "notify-arn", bench.DefaultNotifyARN, "MinIO queue ARN of the webhook target")
	fs.DurationVar(&cfg.ShardLimitDuration, "shard-limit-duration", bench.DefaultShardLimitDuration, "how long each shard-limit run offers its load (shorter for smoke runs)")
	fs.IntVar(&cfg.JPEGQuality, "jpeg-quality", bench.DefaultJPEGQuality, "JPEG quality of every encoder compared (1-100)")
	fs.StringVar(&logDir, "log-dir", ".local/log", "directory for bench.log, the logs of the forwarders and workers the bench runs (empty: discard)")
	fs.StringVar(&region, "region", "", "AWS region (default: AWS_REGION / shared config)")
	fs.BoolVar(&s3PathStyle, "s3-path-style", false, "path-style S3 addressing (MinIO)")
	if err := parse(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(os.Stderr, "shardline-bench:", err)
		return 2
	}
	if only != "" {
		cfg.Only = strings.Split(only, ",")
	}

	cfg.Out = os.Stdout
	cfg.Progress = slog.New(slog.NewTextHandler(os.Stderr, nil))
	if logDir != "" {
		if err := os.MkdirAll(logDir, 0o755); err != nil {
			fmt.Fprintln(os.Stderr, "shardline-bench:", err)
			return 1
		}
		f, err := os.Create(filepath.Join(logDir, "bench.log"))
		if err != nil {
			fmt.Fprintln(os.Stderr, "shardline-bench:", err)
			return 1
		}
		defer f.Close()
		cfg.Logs = slog.New(slog.NewJSONHandler(f, nil))
		cfg.LogDir = logDir
	}
	bin, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "shardline-bench: find own executable:", err)
		return 1
	}
	cfg.Binary = bin
	if len(cfg.Only) == 0 || slices.ContainsFunc(cfg.Only, func(s string) bool { return s != bench.SectionImage }) {
		cfg.Clients, err = awsclients.Load(ctx, awsclients.Options{Region: region, S3PathStyle: s3PathStyle})
		if err != nil {
			fmt.Fprintln(os.Stderr, "shardline-bench:", err, `(start the local stack and run eval "$(infra/local/stack.sh env)")`)
			return 1
		}
	}
	if err := bench.Run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "shardline-bench:", err)
		return 1
	}
	return 0
}

// parse parses args, then fills every flag not given on the command line from SHARDLINE_<FLAG>
// (upper case, '-' → '_'), as the shardline command does.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		name := "SHARDLINE_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v := os.Getenv(name); v != "" && !set[f.Name] {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %w", name, v, err))
			}
		}
	})
	return errors.Join(errs...)
}
