// Package cli implements the shardline command line: one binary with subcommands. Every flag can
// also be set by an environment variable named SHARDLINE_<FLAG> (upper case, '-' → '_'); a flag
// on the command line wins over the environment.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/shardline/shardline/internal/awsclients"
	"github.com/shardline/shardline/internal/telemetry"
)

// Version is set at build time with -ldflags "-X github.com/shardline/shardline/internal/cli.Version=…".
var Version = "dev"

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env *Env, args []string) error
}

// Env is what a command needs from the process: output streams and the environment lookup.
type Env struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string
}

func commands() []command {
	return []command{
		{"forward", "receive S3 notifications (HTTP webhook) and write them to the stream", runForward},
		{"work", "run a KCL worker: ledger check, handler, checkpoints", runWork},
		{"setup", "create the stream, tables and buckets if missing (local stack, tests)", runSetup},
		{"demo", "run the end-to-end demo against the local stack", runDemo},
		{"chaos", "prove the guarantee under faults against the local stack (kills, pauses, reshards)", runChaos},
		{"status", "show shards, leases, checkpoints, lag and rates (--watch, --json)", runStatus},
		{"reshard", "split or merge shards, or scale the stream to N shards", runReshard},
		{"reprocess", "rewind checkpoints so that workers replay (--epoch-bump: apply again)", runReprocess},
		{"redrive", "put dead-lettered records back into the stream", runRedrive},
		{"replay-failures", "put the forwarder Lambda's failure-queue messages back into the stream", runReplayFailures},
		{"reconcile", "compare input and output buckets; --fix enqueues repairs", runReconcile},
		{"ledger", "reset one object's ledger entry and enqueue a converging event (ledger reset)", runLedger},
		{"healthcheck", "probe a /healthz endpoint (container health check; no shell needed)", runHealthcheck},
		{"version", "print the version", func(_ context.Context, env *Env, _ []string) error {
			_, err := fmt.Fprintln(env.Stdout, "shardline", Version)
			return err
		}},
	}
}

// Main runs the command named by args[0] and returns the process exit status.
func Main(ctx context.Context, args []string, env *Env) int {
	if env.Getenv == nil {
		env.Getenv = os.Getenv
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(env.Stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, env, args[1:])
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			fmt.Fprintf(env.Stderr, "shardline %s: %v\n", c.name, err)
			return 2
		default:
			fmt.Fprintf(env.Stderr, "shardline %s: %v\n", c.name, err)
			return statusOf(err) // 1, or the status the command asks for (reconcile, redrive: 3)
		}
	}
	fmt.Fprintf(env.Stderr, "shardline: unknown command %q\n\n", args[0])
	usage(env.Stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: shardline <command> [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'shardline <command> -h' for its flags. Every flag may be set as SHARDLINE_<FLAG>.")
}

var errUsage = errors.New("usage")

// parse parses args, then fills every flag not given on the command line from its environment
// variable.
func parse(fs *flag.FlagSet, args []string, env *Env) error {
	fs.SetOutput(env.Stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] {
			return
		}
		name := EnvName(f.Name)
		if v := env.Getenv(name); v != "" {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%w: %s=%q: %v", errUsage, name, v, err))
			}
		}
	})
	return errors.Join(errs...)
}

// EnvName is the environment variable that sets a flag.
func EnvName(flagName string) string {
	return "SHARDLINE_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// common holds the flags every AWS-using command shares.
type common struct {
	region          string
	s3PathStyle     bool
	logFormat       string
	logLevel        string
	stream          string
	leaseTable      string
	ledgerTable     string
	deadLetterTable string
}

// register adds the AWS and logging flags, and the resource-name flags the command uses.
func (c *common) register(fs *flag.FlagSet, r resources) {
	fs.StringVar(&c.region, "region", "", "AWS region (default: AWS_REGION / shared config)")
	fs.BoolVar(&c.s3PathStyle, "s3-path-style", false, "path-style S3 addressing (MinIO and other S3-compatible stores)")
	fs.StringVar(&c.logFormat, "log-format", "json", "log format: json or text")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	if r&streamFlag != 0 {
		fs.StringVar(&c.stream, "stream", "shardline-events", "Kinesis stream name")
	}
	if r&tableFlags != 0 {
		fs.StringVar(&c.leaseTable, "lease-table", "shardline-leases", "DynamoDB table for KCL leases and checkpoints")
		fs.StringVar(&c.ledgerTable, "ledger-table", "shardline-ledger", "DynamoDB table for the per-object ledger")
		fs.StringVar(&c.deadLetterTable, "dead-letter-table", "shardline-dead-letters", "DynamoDB table for dead-lettered records")
	}
}

// resources selects the resource-name flags a command registers.
type resources int

const (
	streamFlag resources = 1 << iota
	tableFlags
	noResources resources = 0
)

func (c *common) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		return nil, fmt.Errorf("%w: --log-level %q", errUsage, c.logLevel)
	}
	if c.logFormat != "json" && c.logFormat != "text" {
		return nil, fmt.Errorf("%w: --log-format must be json or text", errUsage)
	}
	return telemetry.NewLogger(w, c.logFormat, level), nil
}

func (c *common) clients(ctx context.Context) (awsclients.Clients, error) {
	return awsclients.Load(ctx, awsclients.Options{Region: c.region, S3PathStyle: c.s3PathStyle})
}

func durationFlag(fs *flag.FlagSet, p *time.Duration, name string, def time.Duration, usage string) {
	fs.DurationVar(p, name, def, usage)
}
