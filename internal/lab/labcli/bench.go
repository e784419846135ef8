package labcli

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/shardline/shardline/internal/cli"
	"github.com/shardline/shardline/internal/lab/bench"
)

// benchOptions are the flags of bench that are not bench.Config fields.
type benchOptions struct {
	cfg          bench.Config
	only, logDir string
}

// benchFlags declares `shardline-lab bench`: the image path, the pipeline against the local
// stack's raw ceiling, key concurrency, a hot key, end-to-end latency and more, each measured
// side by side with its baseline in the same run. Every section but image needs the local stack
// (`infra/local/stack.sh up` and `eval "$(infra/local/stack.sh env)"`).
func benchFlags(fs *flag.FlagSet) cli.Action {
	o := &benchOptions{}
	fs.StringVar(&o.only, "only", "", "comma-separated sections to run ("+strings.Join(bench.Sections, ",")+"); empty: all")
	fs.StringVar(&o.cfg.PhotosDir, "photos", bench.DefaultPhotosDir, "directory of JPEG and PNG photos (Debian's mate-backgrounds)")
	o.cfg.Webhook.Flags(fs)
	fs.DurationVar(&o.cfg.ShardLimitDuration, "shard-limit-duration", bench.DefaultShardLimitDuration, "how long each shard-limit run offers its load (shorter for smoke runs)")
	fs.IntVar(&o.cfg.JPEGQuality, "jpeg-quality", bench.DefaultJPEGQuality, "JPEG quality of every encoder compared (1-100)")
	fs.StringVar(&o.logDir, "log-dir", ".local/log", "directory for bench.log, the logs of the forwarders and workers the bench runs (empty: discard)")
	return cli.Action{Run: o.run}
}

func (o *benchOptions) run(ctx context.Context, s *cli.Session) error {
	cfg := o.cfg
	if o.only != "" {
		cfg.Only = strings.Split(o.only, ",")
	}
	cfg.Out = s.Env.Stdout
	cfg.Progress = slog.New(slog.NewTextHandler(s.Env.Stderr, nil))
	if o.logDir != "" {
		if err := os.MkdirAll(o.logDir, 0o755); err != nil {
			return err
		}
		f, err := os.Create(filepath.Join(o.logDir, "bench.log"))
		if err != nil {
			return err
		}
		defer f.Close()
		cfg.Logs = slog.New(slog.NewJSONHandler(f, nil))
		cfg.LogDir = o.logDir
	}
	bin, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own executable: %w", err)
	}
	cfg.Binary = bin
	if len(cfg.Only) == 0 || slices.ContainsFunc(cfg.Only, func(s string) bool { return s != bench.SectionImage }) {
		if cfg.Clients, err = s.LoadClients(ctx); err != nil {
			return fmt.Errorf(`%w (start the local stack and run eval "$(infra/local/stack.sh env)")`, err)
		}
	}
	return bench.Run(ctx, cfg)
}

// imageChild is the bench's image-child process: one image mode measured in a process of its own.
func imageChild(ctx context.Context, env *cli.Env, args []string) error {
	return bench.RunImageChild(ctx, args, env.Stdout)
}

// consumerChild is the bench's worker-child or kcl-child process: a consumer under load.
func consumerChild(command string) func(context.Context, *cli.Env, []string) error {
	return func(ctx context.Context, _ *cli.Env, args []string) error {
		return bench.RunConsumerChild(ctx, command, args)
	}
}
