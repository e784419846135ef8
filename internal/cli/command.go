package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/shardline/shardline/internal/awsclients"
	"github.com/shardline/shardline/internal/telemetry"
)

// Command is one subcommand. A command either declares its own flags (Flags) and leaves the
// rest to the shared setup, or parses its arguments itself (Run).
type Command struct {
	Name    string
	Summary string // one line in the usage text
	// Hidden commands run but are not listed (the bench's child processes).
	Hidden bool

	// Shared selects the flags the command shares with others (region, logging, stream, tables).
	Shared Shared
	// Flags registers the command's own flags and returns what it does with them. The shared
	// setup then parses the arguments (a flag not given is read from SHARDLINE_<FLAG>), runs
	// Action.Check, builds the logger and the AWS clients Shared asks for, and runs Action.Run.
	Flags func(fs *flag.FlagSet) Action

	// Run, when Flags is nil, runs the command with the arguments after its name.
	Run func(ctx context.Context, env *Env, args []string) error
}

// Action is what a command does once its flags are parsed.
type Action struct {
	// Check, when set, validates the command's own flag values before any logger or client is
	// made; its error is a usage error (exit status 2).
	Check func() error
	// Run does the command's work.
	Run func(ctx context.Context, s *Session) error
}

// Shared selects the flags a command shares with other commands: the shared setup registers
// them (one name, default and help text each) and builds what they configure.
type Shared uint

const (
	// AWSFlags registers --region and --s3-path-style (Session.LoadClients uses them).
	AWSFlags Shared = 1 << iota
	// Clients loads the AWS clients into Session.Clients before the command runs.
	Clients
	// Logs registers --log-format and --log-level and builds Session.Log from them.
	Logs
	// TextLogs makes Session.Log write text whatever --log-format says (a person reads them).
	TextLogs
	// Stream registers --stream (Session.Stream).
	Stream
	// LeaseTable registers --lease-table (Session.LeaseTable).
	LeaseTable
	// LedgerTable registers --ledger-table (Session.LedgerTable).
	LedgerTable
	// DeadLetterTable registers --dead-letter-table (Session.DeadLetterTable).
	DeadLetterTable
	// JSON registers --json: print the command's result as JSON (Session.JSON).
	JSON

	// AWS is what every AWS-using command shares: the AWS flags and clients and the logging flags.
	AWS = AWSFlags | Clients | Logs
	// Tables are the three DynamoDB tables of a worker.
	Tables = LeaseTable | LedgerTable | DeadLetterTable
)

// Session is what the shared setup hands a command's Run.
type Session struct {
	Env *Env
	// The resource names Shared selected; empty otherwise.
	Stream, LeaseTable, LedgerTable, DeadLetterTable string
	// JSON is --json: print the result as JSON.
	JSON bool
	// Log is set with Logs.
	Log *slog.Logger
	// Clients are set with Clients.
	Clients awsclients.Clients

	aws awsclients.Options
}

// LoadClients builds AWS clients from the standard configuration chain and --region and
// --s3-path-style (for a command that needs them only sometimes: it does not share Clients).
func (s *Session) LoadClients(ctx context.Context) (awsclients.Clients, error) {
	return awsclients.Load(ctx, s.aws)
}

// required is a Check that fails with msg unless every one of values is set.
func required(msg string, values ...*string) func() error {
	return func() error {
		for _, v := range values {
			if *v == "" {
				return errors.New(msg)
			}
		}
		return nil
	}
}

// run runs c with the arguments after its name.
func (c Command) run(ctx context.Context, env *Env, args []string) error {
	if c.Flags == nil {
		return c.Run(ctx, env, args)
	}
	fs, shared, action := c.flagSet()
	if err := parse(fs, args, env); err != nil {
		return err
	}
	if action.Check != nil {
		if err := action.Check(); err != nil {
			return fmt.Errorf("%w: %w", errUsage, err)
		}
	}
	s, err := shared.session(ctx, env, c.Shared)
	if err != nil {
		return err
	}
	return action.Run(ctx, s)
}

// flagSet is c's flag set: the shared flags it selects and its own.
func (c Command) flagSet() (*flag.FlagSet, *sharedValues, Action) {
	fs := flag.NewFlagSet(c.Name, flag.ContinueOnError)
	var v sharedValues
	v.register(fs, c.Shared)
	return fs, &v, c.Flags(fs)
}

// sharedValues are the values of the shared flags.
type sharedValues struct {
	aws                                              awsclients.Options
	logFormat, logLevel                              string
	stream, leaseTable, ledgerTable, deadLetterTable string
	json                                             bool
}

func (v *sharedValues) register(fs *flag.FlagSet, s Shared) {
	if s&AWSFlags != 0 {
		fs.StringVar(&v.aws.Region, "region", "", "AWS region (default: AWS_REGION / shared config)")
		fs.BoolVar(&v.aws.S3PathStyle, "s3-path-style", false, "path-style S3 addressing (MinIO and other S3-compatible stores)")
	}
	if s&Logs != 0 {
		fs.StringVar(&v.logFormat, "log-format", "json", "log format: json or text")
		fs.StringVar(&v.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	}
	if s&JSON != 0 {
		fs.BoolVar(&v.json, "json", false, "print the result as JSON")
	}
	for _, r := range []struct {
		bit            Shared
		p              *string
		name, def, use string
	}{
		{Stream, &v.stream, "stream", "shardline-events", "Kinesis stream name"},
		{LeaseTable, &v.leaseTable, "lease-table", "shardline-leases", "DynamoDB table for KCL leases and checkpoints"},
		{LedgerTable, &v.ledgerTable, "ledger-table", "shardline-ledger", "DynamoDB table for the per-object ledger"},
		{DeadLetterTable, &v.deadLetterTable, "dead-letter-table", "shardline-dead-letters", "DynamoDB table for dead-lettered records"},
	} {
		if s&r.bit != 0 {
			fs.StringVar(r.p, r.name, r.def, r.use)
		}
	}
}

// session builds what the shared flags configure: the logger, then the AWS clients.
func (v *sharedValues) session(ctx context.Context, env *Env, s Shared) (*Session, error) {
	sess := &Session{Env: env, Stream: v.stream, LeaseTable: v.leaseTable, LedgerTable: v.ledgerTable,
		DeadLetterTable: v.deadLetterTable, JSON: v.json, aws: v.aws}
	if s&Logs != 0 {
		format := v.logFormat
		if s&TextLogs != 0 {
			format = "text"
		}
		log, err := newLogger(env.Stderr, format, v.logLevel)
		if err != nil {
			return nil, err
		}
		sess.Log = log
	}
	if s&Clients != 0 {
		clients, err := sess.LoadClients(ctx)
		if err != nil {
			return nil, err
		}
		sess.Clients = clients
	}
	return sess, nil
}

func newLogger(w io.Writer, format, levelName string) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(levelName)); err != nil {
		return nil, fmt.Errorf("%w: --log-level %q", errUsage, levelName)
	}
	if format != "json" && format != "text" {
		return nil, fmt.Errorf("%w: --log-format must be json or text", errUsage)
	}
	return telemetry.NewLogger(w, format, level), nil
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
