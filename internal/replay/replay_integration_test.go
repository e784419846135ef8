package replay_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/shardline/shardline/internal/awsclients"
	"github.com/shardline/shardline/internal/bucket"
	"github.com/shardline/shardline/internal/envelope"
	"github.com/shardline/shardline/internal/forwarder"
	"github.com/shardline/shardline/internal/lab/emulators"
	"github.com/shardline/shardline/internal/lab/pipelinetest"
	"github.com/shardline/shardline/internal/lab/replaytest"
	"github.com/shardline/shardline/internal/lab/testkit"
	"github.com/shardline/shardline/internal/replay"
	"github.com/shardline/shardline/internal/setup"
)

// newForwarder is the forwarder the Lambda builds, on stream, with the allow-list allow.
func newForwarder(t *testing.T, c awsclients.Clients, stream, allow string) *forwarder.Forwarder {
	t.Helper()
	w, err := forwarder.NewWriter(forwarder.WriterConfig{Client: c.Kinesis, StreamName: stream, Deadline: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	f, err := forwarder.New(forwarder.Config{Writer: w, InputBuckets: bucket.MustParseAllowList(allow)})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestReplayOverTheWire: against a real SQS (moto_server) and Kinesis (local stack), a replay
// that fails leaves the message in the queue, where it is received again after its visibility
// timeout; a replay that succeeds puts the event in the stream and deletes the message.
func TestReplayOverTheWire(t *testing.T) {
	c := emulators.Require(t)
	q, _ := replaytest.SQS(t, c)
	ctx := context.Background()
	const visibility = time.Second
	url := replaytest.Queue(t, q, visibility)
	stream := emulators.Name(t, "replay")
	const input = "shardline-replay-input"
	key := "photos/" + emulators.Name(t, "k") + " red.jpg"
	body := replaytest.InvocationRecord(replaytest.S3Notification(input, key, "0055AED6DCD90281E5"))
	id := replaytest.Send(t, q, url, body)
	cfg := replay.Config{Queue: q, QueueURL: url, WaitTime: 2 * time.Second, Logger: slog.New(slog.NewTextHandler(t.Output(), nil))}

	// The stream does not exist: PutRecords fails, the message stays.
	cfg.Forwarder = newForwarder(t, c, stream, input)
	res, err := replay.Run(ctx, cfg)
	if !errors.Is(err, forwarder.ErrNotForwarded) || res.Stopped != replay.StoppedForwardFailed {
		t.Fatalf("replay to a missing stream: err %v, stopped %q; want ErrNotForwarded", err, res.Stopped)
	}
	if res.Received != 1 || res.Deleted != 0 || res.Kept != 1 || res.Messages[0].Condition != "RetriesExhausted" {
		t.Fatalf("replay to a missing stream: %+v", res)
	}
	testkit.Eventually(t, 15*time.Second, 50*time.Millisecond, func() bool {
		return replaytest.Received(t, q, url, id, 0)
	}, "the message whose replay failed was not received again after its visibility timeout (%s)", visibility)

	// The allow-list refuses the bucket: nothing written, the message stays.
	cfg.Forwarder = newForwarder(t, c, stream, "some-other-bucket")
	if res, err = replay.Run(ctx, cfg); err != nil || res.Received != 1 || res.Kept != 1 || res.Messages[0].Refused != 1 {
		t.Fatalf("replay of a refused bucket: %v, %+v", err, res)
	}
	testkit.Eventually(t, 15*time.Second, 50*time.Millisecond, func() bool {
		return replaytest.Received(t, q, url, id, 0)
	}, "the refused message was not received again")

	// The stream exists: the event goes in, the message is deleted.
	if err := setup.Run(ctx, setup.Clients{Kinesis: c.Kinesis}, setup.Config{StreamName: stream, Shards: 1}, pipelinetest.Quiet()); err != nil {
		t.Fatal(err)
	}
	pipelinetest.DeleteStreamAtCleanup(t, c.Kinesis, stream)
	cfg.Forwarder = newForwarder(t, c, stream, input)
	cfg.WaitTime = 5 * time.Second // the message is still hidden for up to the visibility timeout
	res, err = replay.Run(ctx, cfg)
	if err != nil || res.Received != 1 || res.Replayed != 1 || res.Deleted != 1 || res.Kept != 0 || res.Stopped != replay.StoppedEmpty {
		t.Fatalf("replay: %v, %+v", err, res)
	}
	if n := replaytest.Depth(t, q, url); n != 0 {
		t.Errorf("%d messages left in the queue after a successful replay", n)
	}
	events := replaytest.StreamEvents(t, c.Kinesis, stream)
	if len(events) != 1 || events[0].Bucket != input || events[0].Key != key || events[0].Op != envelope.OpPut {
		t.Fatalf("stream holds %+v, want the put of %s/%s", events, input, key)
	}
}

// TestReplayDryRun: a dry run writes nothing, deletes nothing, and leaves the messages visible
// for the replay that follows it.
func TestReplayDryRun(t *testing.T) {
	c := emulators.Require(t)
	q, _ := replaytest.SQS(t, c)
	ctx := context.Background()
	url := replaytest.Queue(t, q, 30*time.Second)
	id := replaytest.Send(t, q, url, replaytest.S3Notification("shardline-replay-input", "a.jpg", "0055AED6DCD90281E5"))
	w := forwarder.EventWriter(discard{})
	f, err := forwarder.New(forwarder.Config{Writer: w})
	if err != nil {
		t.Fatal(err)
	}
	res, err := replay.Run(ctx, replay.Config{Queue: q, QueueURL: url, Forwarder: f, DryRun: true, WaitTime: time.Second})
	if err != nil || res.Received != 1 || res.Replayed != 1 || res.Deleted != 0 || res.Messages[0].Format != replay.FormatEvent {
		t.Fatalf("dry run: %v, %+v", err, res)
	}
	if !replaytest.Received(t, q, url, id, 0) {
		t.Fatal("the message is not visible right after the dry run")
	}
}

type discard struct{}

func (discard) Write(context.Context, []envelope.Event) error { return nil }
