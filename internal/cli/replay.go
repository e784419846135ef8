package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/shardline/shardline/internal/bucket"
	"github.com/shardline/shardline/internal/envelope"
	"github.com/shardline/shardline/internal/forwarder"
	"github.com/shardline/shardline/internal/progress"
	"github.com/shardline/shardline/internal/replay"
)

// replayOptions are the flags of replay-failures, and the allow-list check parses.
type replayOptions struct {
	cfg          replay.Config
	inputBuckets string
	allow        bucket.AllowList
}

func replayFlags(fs *flag.FlagSet) Action {
	o := &replayOptions{}
	fs.StringVar(&o.cfg.QueueURL, "queue-url", "", "URL of the forwarder Lambda's failure queue (terraform output forwarder_failure_queue_url; required)")
	fs.StringVar(&o.inputBuckets, "input-buckets", "", "comma-separated allow-list of input buckets, as the Lambda's SHARDLINE_INPUT_BUCKETS; a message with an event of another bucket stays in the queue. Empty: every valid bucket name")
	fs.IntVar(&o.cfg.MaxMessages, "max-messages", 0, "stop after this many messages (0: until the queue is empty)")
	fs.DurationVar(&o.cfg.WaitTime, "wait-time", replay.DefaultWaitTime, "long-polling wait of one receive (1s..20s); an empty answer after it ends the run")
	fs.DurationVar(&o.cfg.VisibilityTimeout, "visibility-timeout", 0, "how long a received message stays hidden, and a message left in the queue takes to reappear (0: the queue's own)")
	fs.BoolVar(&o.cfg.DryRun, "dry-run", false, "parse and check the messages, write nothing, delete nothing (messages are made visible again)")
	return Action{Check: o.check, Run: o.run}
}

func (o *replayOptions) check() error {
	c := o.cfg
	if c.QueueURL == "" {
		return fmt.Errorf("--queue-url (or %s) is required", EnvName("queue-url"))
	}
	if c.MaxMessages < 0 || c.WaitTime < time.Second || c.WaitTime > replay.DefaultWaitTime || c.VisibilityTimeout < 0 {
		return errors.New("--max-messages must not be negative, --wait-time must be within 1s..20s, --visibility-timeout not negative")
	}
	var err error
	if o.allow, err = bucket.ParseAllowList(o.inputBuckets); err != nil {
		return fmt.Errorf("--input-buckets: %v", err)
	}
	return nil
}

func (o *replayOptions) run(ctx context.Context, s *Session) error {
	// The Lambda's forwarder: the same parser, allow-list and Writer; a dry run's writes nothing.
	var w forwarder.EventWriter = dryRunWriter{}
	if !o.cfg.DryRun {
		var err error
		if w, err = forwarder.NewWriter(forwarder.WriterConfig{Client: s.Clients.Kinesis, StreamName: s.Stream, Logger: s.Log}); err != nil {
			return err
		}
	}
	f, err := forwarder.New(forwarder.Config{Writer: w, InputBuckets: o.allow, Logger: s.Log})
	if err != nil {
		return err
	}
	cfg := o.cfg
	cfg.Queue, cfg.Forwarder, cfg.Logger = sqs.NewFromConfig(s.Clients.Config), f, s.Log
	line := progress.New(s.Env.Stderr)
	cfg.OnMessage = func(p replay.Progress) {
		line.Printf("replay-failures: %d received, %d replayed, %d deleted", p.Received, p.Replayed, p.Deleted)
	}
	res, err := replay.Run(ctx, cfg)
	line.Done()
	if err != nil && res.Received == 0 {
		return err // nothing received: the queue cannot be read
	}
	status := func() error { return replayStatus(res) }
	if cfg.DryRun {
		status = nil
	}
	return finish(err, writeReplay(s.Env.Stdout, res, s.JSON), status)
}

// dryRunWriter is the EventWriter of a dry run: it writes nothing and reports success.
type dryRunWriter struct{}

func (dryRunWriter) Write(context.Context, []envelope.Event) error { return nil }

// replayStatus is nil when no received message stays in the queue, and an exit status 3 error
// otherwise.
func replayStatus(r replay.Result) error {
	if r.Kept == 0 {
		return nil
	}
	return attention("%d of %s stay in the queue (see RESULT); fix the cause and run replay-failures again", r.Kept, opsPlural(r.Received, "received message"))
}
