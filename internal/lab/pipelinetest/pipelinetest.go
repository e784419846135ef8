// Package pipelinetest runs shardline's pipeline in-process against the local stack for the
// integration tests of the operations commands: it creates a stream, the three tables and two
// buckets with unique names, puts input objects and their events on the stream (through the
// forwarder's Writer, as the webhook would), and starts and stops workers.
package pipelinetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/shardline/shardline/checkpoint"
	"github.com/shardline/shardline/internal/awsclients"
	"github.com/shardline/shardline/internal/envelope"
	"github.com/shardline/shardline/internal/forwarder"
	"github.com/shardline/shardline/internal/grayscale"
	"github.com/shardline/shardline/internal/lab/emulators"
	"github.com/shardline/shardline/internal/lab/inproc"
	"github.com/shardline/shardline/internal/lab/testkit"
	"github.com/shardline/shardline/internal/setup"
	"github.com/shardline/shardline/processor"
)

// Pipeline is one set of resources on the local stack.
type Pipeline struct {
	T       testing.TB
	Clients awsclients.Clients
	// Resource names.
	Input, Output, Stream, Leases, Ledger, DeadLetters string
	Writer                                             *forwarder.Writer
}

// Quiet is a logger that discards everything.
func Quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// New creates a stream of shards shards, the tables and the buckets (skipping the test when the
// local stack is not enabled).
func New(t testing.TB, shards int32) *Pipeline {
	t.Helper()
	c := emulators.Require(t)
	p := &Pipeline{
		T: t, Clients: c,
		Input: emulators.Name(t, "in"), Output: emulators.Name(t, "out"), Stream: emulators.Name(t, "events"),
		Leases: emulators.Name(t, "leases"), Ledger: emulators.Name(t, "ledger"), DeadLetters: emulators.Name(t, "dead"),
	}
	err := setup.Run(context.Background(), setup.Clients{S3: c.S3, Kinesis: c.Kinesis, DynamoDB: c.DynamoDB}, setup.Config{
		StreamName: p.Stream, Shards: shards, LeaseTable: p.Leases, LedgerTable: p.Ledger,
		DeadLetterTable: p.DeadLetters, InputBucket: p.Input, OutputBucket: p.Output,
	}, Quiet())
	if err != nil {
		t.Fatal(err)
	}
	DeleteStreamAtCleanup(t, c.Kinesis, p.Stream)
	t.Cleanup(func() {
		for _, table := range []string{p.Leases, p.Ledger, p.DeadLetters} {
			_, _ = c.DynamoDB.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(table)})
		}
	})
	p.Writer, err = forwarder.NewWriter(forwarder.WriterConfig{Client: c.Kinesis, StreamName: p.Stream})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// DeleteStreamAtCleanup deletes stream when the test ends: kinesalite limits the shards of all
// streams together (the local stack allows 100), so tests must not leave theirs behind.
func DeleteStreamAtCleanup(t testing.TB, c *kinesis.Client, stream string) {
	t.Cleanup(func() {
		_, _ = c.DeleteStream(context.Background(), &kinesis.DeleteStreamInput{StreamName: aws.String(stream), EnforceConsumerDeletion: aws.Bool(true)})
	})
}

// Env returns the SHARDLINE_* variables that point a shardline command at these resources.
func (p *Pipeline) Env() map[string]string {
	return map[string]string{
		"SHARDLINE_STREAM": p.Stream, "SHARDLINE_LEASE_TABLE": p.Leases, "SHARDLINE_LEDGER_TABLE": p.Ledger,
		"SHARDLINE_DEAD_LETTER_TABLE": p.DeadLetters, "SHARDLINE_S3_PATH_STYLE": "true", "SHARDLINE_LOG_FORMAT": "text",
	}
}

// JPEG returns a small test image; shade makes different contents.
func JPEG(t testing.TB, shade uint8) []byte {
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

// PutInput writes an input object and returns its ETag (without quotes).
func (p *Pipeline) PutInput(key string, data []byte) string {
	p.T.Helper()
	out, err := p.Clients.S3.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(p.Input), Key: aws.String(key), Body: bytes.NewReader(data), ContentType: aws.String("image/jpeg"),
	})
	if err != nil {
		p.T.Fatal(err)
	}
	return strings.Trim(aws.ToString(out.ETag), `"`)
}

// Event builds the envelope S3 would have sent for key (op put or delete, raw sequencer seq).
func (p *Pipeline) Event(key, op, seq, etag string) envelope.Event {
	p.T.Helper()
	name := "ObjectCreated:Put"
	if op == envelope.OpDelete {
		name = "ObjectRemoved:Delete"
	}
	ev, err := envelope.New("aws:s3", name, p.Input, key, op, seq, etag, "", 1, time.Now())
	if err != nil {
		p.T.Fatal(err)
	}
	return ev
}

// Send puts events on the stream.
func (p *Pipeline) Send(events ...envelope.Event) {
	p.T.Helper()
	if err := p.Writer.Write(context.Background(), events); err != nil {
		p.T.Fatal(err)
	}
}

// Seq is a 16-hex-digit sequencer, as MinIO sends.
func Seq(n int) string { return fmt.Sprintf("%016X", n) }

// Output describes an output object.
type Output struct {
	Exists     bool
	ETag       string
	SourceETag string
	Sequencer  string
}

// OutputOf reads the output object key (with prefix) of the output bucket.
func (p *Pipeline) OutputOf(key string) Output {
	p.T.Helper()
	head, err := p.Clients.S3.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(p.Output), Key: aws.String(key)})
	var nf *s3types.NotFound
	if errors.As(err, &nf) {
		return Output{}
	}
	if err != nil {
		p.T.Fatal(err)
	}
	return Output{
		Exists: true, ETag: strings.Trim(aws.ToString(head.ETag), `"`),
		SourceETag: head.Metadata[grayscale.MetaSourceETag], Sequencer: head.Metadata[grayscale.MetaSourceSequencer],
	}
}

// WaitOutput waits (up to 30 s) until the output of key was made from the input content whose
// ETag is sourceETag, and fails the test with msg and args if it never is.
func (p *Pipeline) WaitOutput(key, sourceETag, msg string, args ...any) {
	p.T.Helper()
	testkit.Eventually(p.T, 30*time.Second, 100*time.Millisecond, func() bool {
		return p.OutputOf(key).SourceETag == sourceETag
	}, msg, args...)
}

// LeaseRows reads the lease table.
func (p *Pipeline) LeaseRows() []checkpoint.Lease {
	p.T.Helper()
	cp, err := checkpoint.New(checkpoint.Config{Client: p.Clients.DynamoDB, TableName: p.Leases, WorkerID: "pipelinetest"})
	if err != nil {
		p.T.Fatal(err)
	}
	rows, err := cp.Scan(context.Background())
	if err != nil {
		p.T.Fatal(err)
	}
	return rows
}

// WorkerOptions adjusts a worker.
type WorkerOptions struct {
	ID string // default "worker-1"
	// Grayscale configures the handler; Store and OutputBucket are filled in.
	Grayscale grayscale.Config
	// Wrap, when set, wraps the grayscale handler (to count or fail calls).
	Wrap func(processor.Handler) processor.Handler
	// MaxAttempts for transient failures; default the worker's.
	MaxAttempts int
}

// Worker is a running in-process worker.
type Worker struct {
	p *Pipeline
	*inproc.Worker
	stopped bool
}

// StartWorker starts a worker with short lease and sync intervals; the test's cleanup stops it.
func (p *Pipeline) StartWorker(o WorkerOptions) *Worker {
	p.T.Helper()
	if o.ID == "" {
		o.ID = "worker-1"
	}
	reg := prometheus.NewRegistry()
	g := o.Grayscale
	g.Store, g.OutputBucket, g.Registerer = p.Clients.S3, p.Output, reg
	h, err := grayscale.New(g)
	if err != nil {
		p.T.Fatal(err)
	}
	var handler processor.Handler = h
	if o.Wrap != nil {
		handler = o.Wrap(h)
	}
	w := &Worker{p: p, Worker: inproc.StartWith(context.Background(), reg, processor.Config{
		Kinesis: p.Clients.Kinesis, DynamoDB: p.Clients.DynamoDB, Handler: handler, Region: p.Clients.Config.Region,
		StreamName: p.Stream, LeaseTable: p.Leases, LedgerTable: p.Ledger, DeadLetterTable: p.DeadLetters,
		WorkerID: o.ID, LeaseDuration: 4 * time.Second, ShardSyncInterval: 300 * time.Millisecond,
		IdleBetweenReads: 100 * time.Millisecond, StopTimeout: 15 * time.Second, Logger: Quiet(),
		Retry: processor.Retry{MaxAttempts: o.MaxAttempts, Base: 10 * time.Millisecond, Max: 50 * time.Millisecond},
	})}
	p.T.Cleanup(func() { _ = w.Stop() })
	return w
}

// Stop cancels the worker and waits for it; it returns nil when it shut down cleanly (leases
// released). Stopping twice is harmless.
func (w *Worker) Stop() error {
	if w.stopped {
		return nil
	}
	w.stopped = true
	w.Cancel()
	select {
	case <-w.Done():
		return w.Err()
	case <-time.After(30 * time.Second):
		return errors.New("worker did not return within 30s of cancellation")
	}
}

// Outcome is the worker's shardline_worker_records_total for outcome.
func (w *Worker) Outcome(outcome string) float64 {
	w.p.T.Helper()
	return testkit.Metric(w.p.T, w.Registry, "shardline_worker_records_total", "outcome", outcome)
}

// WaitFinished waits until the worker finished (any outcome) at least n records.
func (w *Worker) WaitFinished(n int) {
	w.p.T.Helper()
	testkit.Eventually(w.p.T, 60*time.Second, 100*time.Millisecond, func() bool {
		total := 0.0
		for _, o := range []string{processor.OutcomeApplied, processor.OutcomeDuplicate, processor.OutcomeStale, processor.OutcomeDeadLettered} {
			total += w.Outcome(o)
		}
		return total >= float64(n)
	}, "worker finished fewer than %d records", n)
}
