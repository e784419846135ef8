package processor_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/shardline/shardline/internal/forwarder"
	"github.com/shardline/shardline/internal/lab/pipelinetest"
	"github.com/shardline/shardline/internal/lab/testkit"
)

// pipeline is a forwarder (webhook over HTTP) and a worker, both in-process, on the local stack:
// pipelinetest's resources and worker, fed through the webhook as S3 would.
type pipeline struct {
	*pipelinetest.Pipeline
	t        *testing.T
	worker   *pipelinetest.Worker
	webhook  string
	sentEvts int
}

func quiet() *slog.Logger { return pipelinetest.Quiet() }

func newPipeline(t *testing.T, shards int32) *pipeline {
	t.Helper()
	p := &pipeline{Pipeline: pipelinetest.New(t, shards), t: t}
	f, err := forwarder.New(forwarder.Config{Writer: p.Writer})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(f.Webhook())
	t.Cleanup(srv.Close)
	p.webhook = srv.URL + "/webhook"
	p.worker = p.StartWorker(pipelinetest.WorkerOptions{ID: "test-worker"})
	return p
}

// testJPEG is a small test image; shade makes different contents.
func testJPEG(t *testing.T, shade uint8) []byte { return pipelinetest.JPEG(t, shade) }

func (p *pipeline) deleteInput(key string) {
	p.t.Helper()
	if _, err := p.Clients.S3.DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String(p.Input), Key: aws.String(key)}); err != nil {
		p.t.Fatal(err)
	}
}

// notify posts an S3 notification (the plain "Records" shape, key URL-encoded as S3 does) to the
// forwarder's webhook.
func (p *pipeline) notify(eventName, key, sequencer string) {
	p.t.Helper()
	body, _ := json.Marshal(map[string]any{"Records": []any{map[string]any{
		"eventVersion": "2.1", "eventSource": "aws:s3", "eventName": eventName,
		"eventTime": time.Now().UTC().Format(time.RFC3339Nano),
		"s3": map[string]any{
			"bucket": map[string]any{"name": p.Input},
			"object": map[string]any{"key": url.QueryEscape(key), "size": 1, "sequencer": sequencer},
		},
	}}})
	resp, err := http.Post(p.webhook, "application/json", bytes.NewReader(body))
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(resp.Body)
		p.t.Fatalf("webhook answered %s: %s", resp.Status, msg)
	}
	p.sentEvts++
}

func (p *pipeline) finished(outcome string) float64 {
	return p.worker.Outcome(outcome)
}

// waitCaughtUp waits until the worker has finished every event sent (in any outcome).
func (p *pipeline) waitCaughtUp() {
	p.t.Helper()
	testkit.Eventually(p.t, 60*time.Second, 100*time.Millisecond, func() bool {
		return testkit.Metric(p.t, p.worker.Registry, "shardline_worker_records_total") >= float64(p.sentEvts)
	}, "worker finished fewer than %d events", p.sentEvts)
}

// output returns the output's source-etag metadata, or "" if there is no output.
func (p *pipeline) output(key string) string { return p.OutputOf(key).SourceETag }

func TestForwardWorkOutput(t *testing.T) {
	p := newPipeline(t, 2)
	seq := func(n int) string { return fmt.Sprintf("%016X", n) }

	// put
	etagA := p.PutInput("photos/a b+c.jpg", testJPEG(t, 10))
	p.notify("ObjectCreated:Put", "photos/a b+c.jpg", seq(10))
	// put, then delete
	p.PutInput("b.jpg", testJPEG(t, 20))
	p.notify("ObjectCreated:Put", "b.jpg", seq(10))
	p.deleteInput("b.jpg")
	p.notify("ObjectRemoved:Delete", "b.jpg", seq(20))
	// put, then re-put with new content
	p.PutInput("c.jpg", testJPEG(t, 30))
	p.notify("ObjectCreated:Put", "c.jpg", seq(10))
	etagC := p.PutInput("c.jpg", testJPEG(t, 40))
	p.notify("ObjectCreated:Put", "c.jpg", seq(20))
	// duplicate delivery
	p.notify("ObjectCreated:Put", "photos/a b+c.jpg", seq(10))
	// reordered: the later put arrives first, then the older one
	etagD := p.PutInput("d.jpg", testJPEG(t, 50))
	p.notify("ObjectCreated:Put", "d.jpg", seq(20))
	p.notify("ObjectCreated:Put", "d.jpg", seq(10))
	// reordered: a put (later) arrives before an older delete; the object exists
	etagE := p.PutInput("e.jpg", testJPEG(t, 60))
	p.notify("ObjectCreated:Put", "e.jpg", seq(20))
	p.notify("ObjectRemoved:Delete", "e.jpg", seq(10))

	p.waitCaughtUp()

	for _, tc := range []struct{ key, want string }{
		{"photos/a b+c.jpg", etagA}, {"b.jpg", ""}, {"c.jpg", etagC}, {"d.jpg", etagD}, {"e.jpg", etagE},
	} {
		if got := p.output(tc.key); got != tc.want {
			t.Errorf("output %q: source-etag %q, want %q (empty = no output)", tc.key, got, tc.want)
		}
	}
	// How many events share a batch depends on timing: events of one object in one batch are
	// coalesced (superseded) instead of applied in turn. What never varies: every event is
	// accounted for once, nothing is dead-lettered, and the duplicate and the two older
	// reordered events are never applied.
	applied, dropped := p.finished("applied"), p.finished("duplicate")+p.finished("stale")+p.finished("superseded")
	if applied+dropped != float64(p.sentEvts) || p.finished("dead_lettered") != 0 {
		t.Errorf("applied %v + dropped %v != %d sent (dead-lettered %v)", applied, dropped, p.sentEvts, p.finished("dead_lettered"))
	}
	if applied > 7 || dropped < 3 {
		t.Errorf("applied %v, dropped %v: want at most 7 applied and at least 3 dropped", applied, dropped)
	}

	// Graceful shutdown: the worker returns nil, and its leases are released with
	// checkpoints recorded.
	if err := p.worker.Stop(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	leases := p.LeaseRows()
	if len(leases) != 2 {
		t.Fatalf("lease items = %d, want 2", len(leases))
	}
	for _, l := range leases {
		if l.Owner != "" {
			t.Errorf("shard %s still owned by %q after shutdown", l.ShardID, l.Owner)
		}
	}
}
