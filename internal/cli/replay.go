package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/shardline/shardline/internal/bucket"
	"github.com/shardline/shardline/internal/envelope"
	"github.com/shardline/shardline/internal/forwarder"
	"github.com/shardline/shardline/internal/progress"
	"github.com/shardline/shardline/internal/replay"
)

func runReplayFailures(ctx context.Context, env *Env, args []string) error {
	fs := flag.NewFlagSet("replay-failures", flag.ContinueOnError)
	var (
		c            common
		queueURL     string
		inputBuckets string
		maxMessages  int
		waitTime     time.Duration
		visibility   time.Duration
		dryRun       bool
		asJSON       bool
	)
	c.register(fs, streamFlag)
	fs.StringVar(&queueURL, "queue-url", "", "URL of the forwarder Lambda's failure queue (terraform output forwarder_failure_queue_url; required)")
	fs.StringVar(&inputBuckets, "input-buckets", "", "comma-separated allow-list of input buckets, as the Lambda's SHARDLINE_INPUT_BUCKETS; a message with an event of another bucket stays in the queue. Empty: every valid bucket name")
	fs.IntVar(&maxMessages, "max-messages", 0, "stop after this many messages (0: until the queue is empty)")
	durationFlag(fs, &waitTime, "wait-time", replay.DefaultWaitTime, "long-polling wait of one receive (1s..20s); an empty answer after it ends the run")
	durationFlag(fs, &visibility, "visibility-timeout", 0, "how long a received message stays hidden, and a message left in the queue takes to reappear (0: the queue's own)")
	fs.BoolVar(&dryRun, "dry-run", false, "parse and check the messages, write nothing, delete nothing (messages are made visible again)")
	fs.BoolVar(&asJSON, "json", false, "print the result as JSON")
	if err := parse(fs, args, env); err != nil {
		return err
	}
	if queueURL == "" {
		return fmt.Errorf("%w: --queue-url (or %s) is required", errUsage, EnvName("queue-url"))
	}
	if maxMessages < 0 || waitTime < time.Second || waitTime > replay.DefaultWaitTime || visibility < 0 {
		return fmt.Errorf("%w: --max-messages must not be negative, --wait-time must be within 1s..20s, --visibility-timeout not negative", errUsage)
	}
	allow, err := bucket.ParseAllowList(inputBuckets)
	if err != nil {
		return fmt.Errorf("%w: --input-buckets: %v", errUsage, err)
	}
	log, err := c.logger(env.Stderr)
	if err != nil {
		return err
	}
	clients, err := c.clients(ctx)
	if err != nil {
		return err
	}
	// The Lambda's forwarder: the same parser, allow-list and Writer; a dry run's writes nothing.
	var w forwarder.EventWriter = dryRunWriter{}
	if !dryRun {
		if w, err = forwarder.NewWriter(forwarder.WriterConfig{Client: clients.Kinesis, StreamName: c.stream, Logger: log}); err != nil {
			return err
		}
	}
	f, err := forwarder.New(forwarder.Config{Writer: w, InputBuckets: allow, Logger: log})
	if err != nil {
		return err
	}
	line := progress.New(env.Stderr)
	res, err := replay.Run(ctx, replay.Config{
		Queue: sqs.NewFromConfig(clients.Config), QueueURL: queueURL, Forwarder: f,
		MaxMessages: maxMessages, WaitTime: waitTime, VisibilityTimeout: visibility, DryRun: dryRun, Logger: log,
		OnMessage: func(p replay.Progress) {
			line.Printf("replay-failures: %d received, %d replayed, %d deleted", p.Received, p.Replayed, p.Deleted)
		},
	})
	line.Done()
	if err != nil && res.Received == 0 {
		return err // nothing received: the queue cannot be read
	}
	if asJSON {
		err = errors.Join(opsJSON(env.Stdout, res, true), err)
	} else {
		err = errors.Join(writeReplay(env.Stdout, res), err)
	}
	if err != nil || dryRun {
		return err
	}
	return replayStatus(res)
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

// stoppedText says why a replay ended.
var stoppedText = map[string]string{
	replay.StoppedEmpty:         "the queue has no message left to try",
	replay.StoppedMaxMessages:   "--max-messages reached",
	replay.StoppedForwardFailed: "Kinesis did not take a message's events; later messages were not tried",
	replay.StoppedInterrupted:   "interrupted",
	replay.StoppedReceiveFailed: "receiving failed",
}

func writeReplay(w io.Writer, r replay.Result) error {
	var b strings.Builder
	switch {
	case r.Received == 0:
		b.WriteString("no message in the failure queue\n")
	case r.DryRun:
		fmt.Fprintf(&b, "would replay %d of %s (dry run); %d would stay in the queue\n",
			r.Replayed, opsPlural(r.Received, "message"), r.Received-r.Replayed)
	default:
		fmt.Fprintf(&b, "replayed %d of %s: %s deleted, %d left in the queue\n",
			r.Replayed, opsPlural(r.Received, "message"), opsPlural(r.Deleted, "message"), r.Kept)
	}
	if r.Received > 0 {
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "MESSAGE\tFORMAT\tCONDITION\tEVENTS\tFORWARDED\tREFUSED\tSKIPPED\tRESULT")
		for _, m := range r.Messages {
			result := "deleted"
			switch {
			case r.DryRun && m.Error != "":
				result = "would stay: " + m.Error
			case r.DryRun:
				result = "would replay"
			case m.Error != "":
				result = "kept: " + m.Error
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\n", m.ID, orDash(m.Format), orDash(m.Condition),
				m.Events, m.Forwarded, m.Refused, m.Skipped, result)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	fmt.Fprintf(&b, "stopped: %s\n", stoppedText[r.Stopped])
	_, err := io.WriteString(w, b.String())
	return err
}
