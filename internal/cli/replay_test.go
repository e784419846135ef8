package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/shardline/shardline/internal/lab/emulators"
	"github.com/shardline/shardline/internal/lab/golden"
	"github.com/shardline/shardline/internal/lab/pipelinetest"
	"github.com/shardline/shardline/internal/lab/replaytest"
	"github.com/shardline/shardline/internal/lab/testkit"
	"github.com/shardline/shardline/internal/replay"
	"github.com/shardline/shardline/internal/setup"
)

// replayFixture is a replay of three messages: one deleted, one refused, one Kinesis did not take.
func replayFixture() replay.Result {
	return replay.Result{
		Progress: replay.Progress{Received: 3, Replayed: 1, Deleted: 1, Kept: 2},
		Stopped:  replay.StoppedForwardFailed,
		Messages: []replay.Message{
			{ID: "0d8f5a52-7c1e-4d0a-9d3b-2f1e8c7b6a59", Format: replay.FormatInvocationRecord, Condition: "RetriesExhausted",
				Events: 2, Forwarded: 2, Skipped: 1, Replayed: true, Deleted: true},
			{ID: "5b7c9e1a-3f2d-4e8b-a1c6-9d0e2f4a6b8c", Format: replay.FormatEvent, Condition: "SDK_CLIENT_ERROR",
				Events: 1, Refused: 1, Error: "1 of 1 events refused (bucket invalid or not on --input-buckets): not in the stream"},
			{ID: "c3e5a7b9-1d2f-4a6c-8e0b-5f7d9a1c3e5b", Format: replay.FormatInvocationRecord, Condition: "RetriesExhausted",
				Events: 1, Error: "forward 1 events: 1 of 1 records did not reach Kinesis: PutRecords: ResourceNotFoundException"},
		},
	}
}

func TestWriteReplayGolden(t *testing.T) {
	dry := replay.Result{
		Progress: replay.Progress{Received: 2, Replayed: 1}, DryRun: true, Stopped: replay.StoppedEmpty,
		Messages: []replay.Message{
			{ID: "0d8f5a52-7c1e-4d0a-9d3b-2f1e8c7b6a59", Format: replay.FormatInvocationRecord, Condition: "RetriesExhausted", Events: 1, Forwarded: 1, Replayed: true},
			{ID: "9a8b7c6d-5e4f-4321-8765-0fedcba98765", Error: "not a failed invocation: the body is not a JSON object"},
		},
	}
	for _, tc := range []struct {
		golden string
		res    replay.Result
	}{
		{"replay.golden", replayFixture()},
		{"replay_dry_run.golden", dry},
		{"replay_empty.golden", replay.Result{Stopped: replay.StoppedEmpty}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			var buf bytes.Buffer
			if err := writeReplay(&buf, tc.res, false); err != nil {
				t.Fatal(err)
			}
			golden.Check(t, tc.golden, buf.Bytes())
		})
	}
}

func TestReplayJSONGolden(t *testing.T) {
	var buf bytes.Buffer
	for _, v := range []replay.Result{replayFixture(), {Stopped: replay.StoppedEmpty}} {
		if err := opsJSON(&buf, v, true); err != nil {
			t.Fatal(err)
		}
	}
	golden.Check(t, "replay.json.golden", buf.Bytes())
}

// TestReplayExitStatus: 3 when received messages stay in the queue, else 0 (nil).
func TestReplayExitStatus(t *testing.T) {
	if err := replayStatus(replay.Result{}); err != nil {
		t.Errorf("nothing received: %v", err)
	}
	if err := replayStatus(replay.Result{Progress: replay.Progress{Received: 2, Replayed: 2, Deleted: 2}}); err != nil {
		t.Errorf("all deleted: %v", err)
	}
	err := replayStatus(replayFixture())
	if statusOf(err) != exitAttention || !strings.Contains(err.Error(), "2 of 3 received messages stay in the queue") {
		t.Errorf("two kept: %v (status %d)", err, statusOf(err))
	}
}

func TestReplayUsage(t *testing.T) {
	usage := func(name string, args ...string) mainCase {
		return mainCase{name, append([]string{"replay-failures"}, args...), nil, exitUsage, []string{"usage: "}}
	}
	runMain(t, context.Background(), []mainCase{
		usage("no queue URL"),
		usage("wait time below 1s", "--queue-url", "q", "--wait-time", "0s"),
		usage("wait time above 20s", "--queue-url", "q", "--wait-time", "21s"),
		usage("negative max messages", "--queue-url", "q", "--max-messages", "-1"),
		usage("ARN as input bucket", "--queue-url", "q", "--input-buckets", "arn:aws:s3:::b"),
	})
}

// TestReplayFailuresCommand runs the command against a real SQS (moto_server) and Kinesis (local
// stack): a replay to a stream that does not exist exits 1 and leaves the message, which is
// received again after its visibility timeout; a refused bucket exits 3 and leaves it; a replay
// to the stream exits 0, deletes it, and the event is in the stream.
func TestReplayFailuresCommand(t *testing.T) {
	c := emulators.Require(t)
	q, endpoint := replaytest.SQS(t, c)
	t.Setenv("AWS_ENDPOINT_URL_SQS", endpoint)
	ctx := context.Background()
	url := replaytest.Queue(t, q, time.Second)
	stream := emulators.Name(t, "replay")
	const input = "shardline-replay-input"
	id := replaytest.Send(t, q, url, replaytest.InvocationRecord(replaytest.S3Notification(input, "a b.jpg", "0055AED6DCD90281E5")))
	vars := map[string]string{
		"SHARDLINE_QUEUE_URL": url, "SHARDLINE_STREAM": stream, "SHARDLINE_INPUT_BUCKETS": input,
		"SHARDLINE_WAIT_TIME": "3s", "SHARDLINE_LOG_FORMAT": "text",
	}
	receivedAgain := func(why string) {
		t.Helper()
		testkit.Eventually(t, 15*time.Second, 50*time.Millisecond, func() bool {
			return replaytest.Received(t, q, url, id, 0)
		}, "the message was not received again after %s", why)
	}

	env, out, errOut := testEnv(vars)
	if code := Main(ctx, []string{"replay-failures"}, env); code != exitError ||
		!strings.Contains(errOut.String(), "ResourceNotFoundException") || !strings.Contains(out.String(), "replayed 0 of 1 message: 0 messages deleted, 1 left in the queue") {
		t.Fatalf("missing stream: exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	receivedAgain("a replay to a missing stream")

	env, out, errOut = testEnv(vars)
	if code := Main(ctx, []string{"replay-failures", "--input-buckets", "another-bucket"}, env); code != exitAttention ||
		!strings.Contains(out.String(), "events refused") {
		t.Fatalf("refused bucket: exit %d, want 3\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	receivedAgain("a replay that refused its event")

	if err := setup.Run(ctx, setup.Clients{Kinesis: c.Kinesis}, setup.Config{StreamName: stream, Shards: 1}, pipelinetest.Quiet()); err != nil {
		t.Fatal(err)
	}
	pipelinetest.DeleteStreamAtCleanup(t, c.Kinesis, stream)
	env, out, errOut = testEnv(vars)
	if code := Main(ctx, []string{"replay-failures", "--json"}, env); code != 0 {
		t.Fatalf("replay: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	var res replay.Result
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("--json output: %v\n%s", err, out)
	}
	if res.Received != 1 || res.Deleted != 1 || len(res.Messages) != 1 || res.Messages[0].ID != id || res.Messages[0].Forwarded != 1 {
		t.Fatalf("replay result %+v", res)
	}
	if n := replaytest.Depth(t, q, url); n != 0 {
		t.Errorf("%d messages left in the queue", n)
	}
	if events := replaytest.StreamEvents(t, c.Kinesis, stream); len(events) != 1 || events[0].ObjectID() != input+"/a b.jpg" {
		t.Fatalf("stream holds %+v, want the event of %s/a b.jpg", events, input)
	}
}
