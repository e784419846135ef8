// Package chaos proves shardline's guarantee under faults with real processes on the local
// stack: a load generator puts, deletes and re-puts objects in MinIO, MinIO's real notifications
// pass through a proxy that duplicates and reorders them on their way to a forwarder process,
// and N worker processes are killed, paused past their lease, added, removed and made to
// rebalance while the stream is split and merged, two of these faults at a time, some pauses aimed
// right after a worker read an input, while operators run reconcile, redrive, reprocess and
// reshard scale; the input bucket may be versioned. The processes
// reach S3, Kinesis and DynamoDB through AWS API fault proxies (internal/lab/apifault) that
// throttle, fail, reset, delay and lose the responses of a few percent of their calls. When the
// load stops the harness waits for the workers to catch up and checks, for every key, that the
// output exists iff the input exists and was derived from the input's current content, and
// accounts for every record and every dead letter.
package chaos

import (
	"cmp"
	"errors"
	"io"
	"log/slog"
	"time"

	"github.com/shardline/shardline/internal/lab/hookproxy"
)

// Config configures a chaos run. Zero values take the documented defaults.
type Config struct {
	Binary   string        // the shardline executable (forwarder and workers); required
	Seed     int64         // drives every random choice; the report prints it. Default 1
	Duration time.Duration // load duration; default 10m
	Workers  int           // worker processes; default 3
	Keys     int           // distinct object keys; default 200
	Rate     float64       // S3 operations per second; default 20
	Shards   int32         // initial shards; default 2

	LeaseDuration time.Duration // workers' --lease-duration; default 5s
	CatchUp       time.Duration // bound on the final catch-up; default 5m

	// Fault injectors, all on by default.
	NoDuplicates, NoReorder, NoKill, NoPause, NoScale, NoReshard bool
	// NoAPIFaults lets the forwarder and the workers talk to the stack's endpoints directly
	// instead of through the AWS API fault proxies (DefaultAPIFaults), which need
	// AWS_ENDPOINT_URL_S3, _KINESIS and _DYNAMODB set.
	NoAPIFaults bool
	// NoDoubleFaults turns off the second process-fault injector, which overlaps faults: a kill
	// while another worker is paused, a kill right after a worker committed a record.
	NoDoubleFaults bool
	// NoOperators turns off the operator commands run during the load: reconcile --fix,
	// redrive, a partial reprocess with an epoch bump (which stops and restarts every worker) and
	// reshard scale.
	NoOperators bool
	// Versioned enables versioning on the input bucket; the load then also deletes specific
	// versions (current and non-current) and removes delete markers.
	Versioned bool

	// Webhook is where MinIO posts notifications (default 127.0.0.1:8085) and its queue ARN.
	hookproxy.Webhook
	// WebhookToken is the token MinIO's webhook target sends (stack.sh env exports it as
	// SHARDLINE_WEBHOOK_TOKEN); the proxy refuses MinIO requests without it. Empty: MinIO's
	// requests are not checked. The forwarder always requires a token: one the harness makes.
	WebhookToken string
	LogDir       string // process logs; default .local/log
	Out          io.Writer
	Logger       *slog.Logger
}

func (c *Config) defaults() error {
	if c.Binary == "" {
		return errors.New("chaos: Binary is required")
	}
	c.Seed = cmp.Or(c.Seed, 1)
	c.Duration = cmp.Or(c.Duration, 10*time.Minute)
	c.Workers = cmp.Or(c.Workers, 3)
	c.Keys = cmp.Or(c.Keys, 200)
	c.Rate = cmp.Or(c.Rate, 20)
	c.Shards = cmp.Or(c.Shards, 2)
	c.LeaseDuration = cmp.Or(c.LeaseDuration, 5*time.Second)
	c.CatchUp = cmp.Or(c.CatchUp, 5*time.Minute)
	c.Webhook.Defaults()
	c.LogDir = cmp.Or(c.LogDir, ".local/log")
	c.Out = cmp.Or(c.Out, io.Discard)
	c.Logger = cmp.Or(c.Logger, slog.New(slog.DiscardHandler))
	switch {
	case c.Workers < 1, c.Keys < 1, c.Rate <= 0, c.Shards < 1, c.Duration < 0:
		return errors.New("chaos: workers, keys, rate and shards must be positive")
	}
	return nil
}
