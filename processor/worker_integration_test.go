package processor_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/shardline/shardline/checkpoint"
	"github.com/shardline/shardline/internal/awsclients"
	"github.com/shardline/shardline/internal/forwarder"
	"github.com/shardline/shardline/internal/grayscale"
	"github.com/shardline/shardline/internal/lab/emulators"
	"github.com/shardline/shardline/internal/setup"
	"github.com/shardline/shardline/processor"
)

// pipeline is a forwarder (webhook over HTTP) and a worker, both in-process, on the local stack.
type pipeline struct {
	t         *testing.T
	c         awsclients.Clients
	input     string
	outBucket string
	stream    string
	leases    string
	webhook   string
	reg       *prometheus.Registry
	cancel    context.CancelFunc
	done      chan error
	sentEvts  int
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newPipeline(t *testing.T, shards int32) *pipeline {
	t.Helper()
	c := emulators.Require(t)
	p := &pipeline{t: t, c: c, input: emulators.Name(t, "in"), outBucket: emulators.Name(t, "out"),
		stream: emulators.Name(t, "events"), leases: emulators.Name(t, "leases"), reg: prometheus.NewRegistry()}
	ledgerTable, dlTable := emulators.Name(t, "ledger"), emulators.Name(t, "dead")
	ctx := context.Background()
	err := setup.Run(ctx, setup.Clients{S3: c.S3, Kinesis: c.Kinesis, DynamoDB: c.DynamoDB}, setup.Config{
		StreamName: p.stream, Shards: shards, LeaseTable: p.leases, LedgerTable: ledgerTable,
		DeadLetterTable: dlTable, InputBucket: p.input, OutputBucket: p.outBucket,
	}, quiet())
	if err != nil {
		t.Fatal(err)
	}

	w, err := forwarder.NewWriter(forwarder.WriterConfig{Client: c.Kinesis, StreamName: p.stream})
	if err != nil {
		t.Fatal(err)
	}
	f, err := forwarder.New(forwarder.Config{Writer: w})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(f.Webhook())
	t.Cleanup(srv.Close)
	p.webhook = srv.URL + "/webhook"

	h, err := grayscale.New(grayscale.Config{Store: c.S3, OutputBucket: p.outBucket})
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithCancel(context.Background())
	p.cancel, p.done = cancel, make(chan error, 1)
	cfg := processor.Config{
		Kinesis: c.Kinesis, DynamoDB: c.DynamoDB, Handler: h, Region: c.Config.Region,
		StreamName: p.stream, LeaseTable: p.leases, LedgerTable: ledgerTable, DeadLetterTable: dlTable,
		WorkerID: "test-worker", LeaseDuration: 4 * time.Second, ShardSyncInterval: 300 * time.Millisecond,
		IdleBetweenReads: 100 * time.Millisecond, StopTimeout: 15 * time.Second, Registerer: p.reg, Logger: quiet(),
	}
	go func() { p.done <- processor.Run(wctx, cfg) }()
	t.Cleanup(func() { p.stop() })
	return p
}

// stop cancels the worker and returns its error (nil when it shut down cleanly).
func (p *pipeline) stop() error {
	if p.cancel == nil {
		return nil
	}
	p.cancel()
	p.cancel = nil
	select {
	case err := <-p.done:
		return err
	case <-time.After(30 * time.Second):
		return errors.New("worker did not return within 30s of cancellation")
	}
}

func testJPEG(t *testing.T, shade uint8) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 32, 24))
	for y := 0; y < 24; y++ {
		for x := 0; x < 32; x++ {
			img.Set(x, y, color.RGBA{shade, uint8(x * 8), uint8(y * 10), 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// putInput writes an input object and returns its ETag (without quotes).
func (p *pipeline) putInput(key string, data []byte) string {
	p.t.Helper()
	out, err := p.c.S3.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(p.input), Key: aws.String(key), Body: bytes.NewReader(data), ContentType: aws.String("image/jpeg"),
	})
	if err != nil {
		p.t.Fatal(err)
	}
	return strings.Trim(aws.ToString(out.ETag), `"`)
}

func (p *pipeline) deleteInput(key string) {
	p.t.Helper()
	if _, err := p.c.S3.DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String(p.input), Key: aws.String(key)}); err != nil {
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
			"bucket": map[string]any{"name": p.input},
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
	return counter(p.t, p.reg, "shardline_worker_records_total", "outcome", outcome)
}

// waitCaughtUp waits until the worker has finished every event sent.
func (p *pipeline) waitCaughtUp() {
	p.t.Helper()
	emulators.Eventually(p.t, 60*time.Second, 100*time.Millisecond, func() bool {
		total := 0.0
		for _, o := range []string{"applied", "duplicate", "stale", "superseded", "dead_lettered"} {
			total += p.finished(o)
		}
		return total >= float64(p.sentEvts)
	}, "worker finished fewer than %d events", p.sentEvts)
}

// output returns the output's source-etag metadata, or "" if there is no output.
func (p *pipeline) output(key string) string {
	p.t.Helper()
	head, err := p.c.S3.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(p.outBucket), Key: aws.String(key)})
	var nf *s3types.NotFound
	if errors.As(err, &nf) {
		return ""
	}
	if err != nil {
		p.t.Fatal(err)
	}
	return head.Metadata[grayscale.MetaSourceETag]
}

func TestForwardWorkOutput(t *testing.T) {
	p := newPipeline(t, 2)
	seq := func(n int) string { return fmt.Sprintf("%016X", n) }

	// put
	etagA := p.putInput("photos/a b+c.jpg", testJPEG(t, 10))
	p.notify("ObjectCreated:Put", "photos/a b+c.jpg", seq(10))
	// put, then delete
	p.putInput("b.jpg", testJPEG(t, 20))
	p.notify("ObjectCreated:Put", "b.jpg", seq(10))
	p.deleteInput("b.jpg")
	p.notify("ObjectRemoved:Delete", "b.jpg", seq(20))
	// put, then re-put with new content
	p.putInput("c.jpg", testJPEG(t, 30))
	p.notify("ObjectCreated:Put", "c.jpg", seq(10))
	etagC := p.putInput("c.jpg", testJPEG(t, 40))
	p.notify("ObjectCreated:Put", "c.jpg", seq(20))
	// duplicate delivery
	p.notify("ObjectCreated:Put", "photos/a b+c.jpg", seq(10))
	// reordered: the later put arrives first, then the older one
	etagD := p.putInput("d.jpg", testJPEG(t, 50))
	p.notify("ObjectCreated:Put", "d.jpg", seq(20))
	p.notify("ObjectCreated:Put", "d.jpg", seq(10))
	// reordered: a put (later) arrives before an older delete; the object exists
	etagE := p.putInput("e.jpg", testJPEG(t, 60))
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
	if err := p.stop(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	cp, err := checkpoint.New(checkpoint.Config{Client: p.c.DynamoDB, TableName: p.leases, WorkerID: "inspector"})
	if err != nil {
		t.Fatal(err)
	}
	leases, err := cp.Scan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(leases) != 2 {
		t.Fatalf("lease items = %d, want 2", len(leases))
	}
	for _, l := range leases {
		if l.Owner != "" {
			t.Errorf("shard %s still owned by %q after shutdown", l.ShardID, l.Owner)
		}
	}
}
