package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/shardline/shardline/internal/deadletter"
	"github.com/shardline/shardline/internal/lab/emulators"
	"github.com/shardline/shardline/internal/lab/golden"
	"github.com/shardline/shardline/internal/lab/pipelinetest"
	"github.com/shardline/shardline/internal/redrive"
)

func TestWriteRedriveGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := writeRedrive(&buf, redriveFixture(), false, false); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "redrive.golden", buf.Bytes())
}

// redriveFixture is a redrive of three letters: two redriven, one in the stream but kept.
func redriveFixture() redrive.Result {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	return redrive.Result{
		Progress: redrive.Progress{Selected: 3, InStream: 3, Deleted: 2},
		Letters: []redrive.Letter{
			{ID: "shardId-000000000000/4967125839372098345532734682940376192593918541675744", Reason: "retries_exhausted", Object: "in/a.jpg", At: at, Ledger: "reopened", Done: true},
			{ID: "shardId-000000000000/4967125839372098345532734682940376192593918541675755", Reason: "retries_exhausted", Object: "in/b.jpg", At: at, Ledger: "superseded", Done: true},
			{ID: "shardId-000000000001/4967125839372098345532734682940376192593918541675766", Reason: "bad_envelope", At: at, Error: "in the stream, but the letter was not removed: throttled"},
		},
	}
}

func TestRedriveCommand(t *testing.T) {
	p := pipelinetest.New(t, 1)
	ctx := context.Background()
	env, out, errOut := testEnv(p.Env())
	if code := Main(ctx, []string{"redrive"}, env); code != 0 || !strings.Contains(out.String(), "no dead letters match") {
		t.Fatalf("empty table: exit %d\n%s%s", code, out, errOut)
	}
	store := emulators.DeadLetters(t, p.Clients.DynamoDB, p.DeadLetters)
	ev := p.Event("a.jpg", "put", pipelinetest.Seq(5), "")
	data := []byte(`{"v":1}`)
	for i, reason := range []string{"corrupt_image", "retries_exhausted"} {
		if err := store.Put(ctx, deadletter.Letter{Shard: "shardId-000000000000", SequenceNumber: string(rune('1' + i)), PartitionKey: ev.PartitionKey(), Data: data, Reason: reason, Object: ev.ObjectID()}); err != nil {
			t.Fatal(err)
		}
	}
	env, out, errOut = testEnv(p.Env())
	if code := Main(ctx, []string{"redrive", "--reason", "retries_exhausted", "--dry-run"}, env); code != 0 || !strings.Contains(out.String(), "would redrive 1 dead letter (dry run)") {
		t.Fatalf("dry run: exit %d\n%s%s", code, out, errOut)
	}
	env, out, errOut = testEnv(p.Env())
	if code := Main(ctx, []string{"redrive", "--key", "a.jpg"}, env); code != 0 || !strings.Contains(out.String(), "redrove 2 of 2 dead letters: 2 records in the stream, 2 letters removed") {
		t.Fatalf("redrive: exit %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(errOut.String(), "redrive: 2/2 in the stream, 2 letters removed") {
		t.Errorf("no progress line on stderr:\n%s", errOut)
	}
	if left, _ := store.List(ctx); len(left) != 0 {
		t.Fatalf("%d letters left", len(left))
	}
}

// TestRedriveExitStatus: 3 when selected letters stay, else 0 (nil).
func TestRedriveExitStatus(t *testing.T) {
	done, kept := redrive.Letter{ID: "a", Done: true}, redrive.Letter{ID: "b", Error: "not redriven: pending"}
	if err := redriveStatus(redrive.Result{}); err != nil {
		t.Errorf("no letters: %v", err)
	}
	if err := redriveStatus(redrive.Result{Progress: redrive.Progress{Selected: 1}, Letters: []redrive.Letter{done}}); err != nil {
		t.Errorf("all redriven: %v", err)
	}
	err := redriveStatus(redrive.Result{Progress: redrive.Progress{Selected: 2}, Letters: []redrive.Letter{done, kept}})
	if statusOf(err) != exitAttention || !strings.Contains(err.Error(), "1 of 2 selected letters stay") {
		t.Errorf("one kept: %v (status %d)", err, statusOf(err))
	}
}

// TestRedriveCommandMissingStream: against a stream that does not exist, redrive fails within
// seconds with exit status 1, prints no result and leaves the letters (issue 13).
func TestRedriveCommandMissingStream(t *testing.T) {
	p := pipelinetest.New(t, 1)
	ctx := context.Background()
	store := emulators.DeadLetters(t, p.Clients.DynamoDB, p.DeadLetters)
	ev := p.Event("a.jpg", "put", pipelinetest.Seq(5), "")
	if err := store.Put(ctx, deadletter.Letter{Shard: "shardId-000000000000", SequenceNumber: "1", PartitionKey: ev.PartitionKey(), Data: []byte(`{"v":1}`), Reason: "retries_exhausted", Object: ev.ObjectID()}); err != nil {
		t.Fatal(err)
	}
	env, out, errOut := testEnv(p.Env())
	start := time.Now()
	code := Main(ctx, []string{"redrive", "--stream", p.Stream + "-missing"}, env)
	if code != 1 || out.Len() != 0 || !strings.Contains(errOut.String(), "ResourceNotFoundException") {
		t.Fatalf("exit %d, want 1 naming ResourceNotFoundException and no result\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("took %s, want under 5s", took)
	}
	if left, _ := store.List(ctx); len(left) != 1 {
		t.Fatalf("%d letters left, want 1", len(left))
	}
}
