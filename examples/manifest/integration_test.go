package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/shardline/shardline/processor"
)

// names are one test's stream, tables and buckets.
type names struct {
	stream, leases, ledger, deadLetters, input, output string
}

func newNames() names {
	var b [4]byte
	_, _ = rand.Read(b[:])
	n := "manifest-example-" + hex.EncodeToString(b[:])
	return names{
		stream: n, leases: n + "-leases", ledger: n + "-ledger", deadLetters: n + "-dead",
		input: n + "-in", output: n + "-out",
	}
}

// TestWorkerOnTheLocalStack runs the example's handler in processor.Run against the local stack:
// the stream and tables made by `shardline setup`, events written to the stream by this module's
// own producer (producer_test.go). A put makes the manifest; a delete removes it.
func TestWorkerOnTheLocalStack(t *testing.T) {
	if os.Getenv("SHARDLINE_INTEGRATION") != "1" {
		t.Skip("integration test: set SHARDLINE_INTEGRATION=1 and the local stack's environment (make test does)")
	}
	ctx := t.Context()
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pathStyle, _ := strconv.ParseBool(os.Getenv("SHARDLINE_S3_PATH_STYLE"))
	n := newNames()
	shardlineSetup(t, n, pathStyle)
	s3c := s3.NewFromConfig(awsCfg, func(o *s3.Options) { o.UsePathStyle = pathStyle })
	kin := kinesis.NewFromConfig(awsCfg)
	cleanUp(t, awsCfg, s3c, n)

	w := startWorker(t, awsCfg, n, &Manifests{Store: s3c, OutputBucket: n.output, Prefix: "manifests/"})

	key := "photos/2026/red flower é.txt"
	manifestKey := "manifests/" + n.input + "/" + key + ".json"
	body := []byte("a small object with a manifest")
	put, err := s3c.PutObject(ctx, &s3.PutObjectInput{
		Bucket: &n.input, Key: &key, Body: bytes.NewReader(body), ContentType: aws.String("text/plain"),
	})
	if err != nil {
		t.Fatal(err)
	}
	etag := strings.Trim(aws.ToString(put.ETag), `"`)
	// S3 would give both events a sequencer; this producer makes them up in the same form, the
	// delete's later than the put's.
	seq := time.Now().UnixNano()
	putRecord(t, kin, n.stream, n.input, key, processor.OpPut, fmt.Sprintf("%016X", seq), etag, int64(len(body)))

	waitFor(t, time.Minute, "the manifest of the put", func() (bool, error) {
		m, err := readManifest(ctx, s3c, n.output, manifestKey)
		if err != nil || m == nil {
			return false, err
		}
		if m.Size != int64(len(body)) || m.ETag != etag || m.ContentType != "text/plain" || m.Bucket != n.input || m.Key != key {
			return false, fmt.Errorf("manifest %+v, want size %d, etag %s, text/plain, %s/%s", m, len(body), etag, n.input, key)
		}
		return true, nil
	})

	if _, err := s3c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &n.input, Key: &key}); err != nil {
		t.Fatal(err)
	}
	putRecord(t, kin, n.stream, n.input, key, processor.OpDelete, fmt.Sprintf("%016X", seq+1), "", 0)

	waitFor(t, time.Minute, "the manifest removed after the delete", func() (bool, error) {
		m, err := readManifest(ctx, s3c, n.output, manifestKey)
		return err == nil && m == nil, err
	})

	if err := w.stop(); err != nil {
		t.Fatalf("Run after cancel: %v, want nil", err)
	}
}

// shardlineSetup makes the stream, tables and buckets of n with the production command,
// `shardline setup`, built from this repository.
func shardlineSetup(t *testing.T, n names, pathStyle bool) {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "shardline")
	if out, err := exec.CommandContext(t.Context(), "go", "build", "-C", root, "-o", bin, "./cmd/shardline").CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/shardline: %v\n%s", err, out)
	}
	cmd := exec.CommandContext(t.Context(), bin, "setup", "-log-format", "text",
		"-stream", n.stream, "-shards", "1",
		"-lease-table", n.leases, "-ledger-table", n.ledger, "-dead-letter-table", n.deadLetters,
		"-input-bucket", n.input, "-output-bucket", n.output, "-s3-path-style="+strconv.FormatBool(pathStyle))
	// Only the flags above: the stack's SHARDLINE_NOTIFY_ARN would make MinIO notify a forwarder
	// that this test does not run.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SHARDLINE_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("shardline setup: %v\n%s", err, out)
	}
}

// cleanUp deletes n's stream, tables and buckets (with the few objects a failed test leaves) when
// the test ends.
func cleanUp(t *testing.T, awsCfg aws.Config, s3c *s3.Client, n names) {
	t.Cleanup(func() {
		ctx := context.Background()
		_, _ = kinesis.NewFromConfig(awsCfg).DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: &n.stream})
		db := dynamodb.NewFromConfig(awsCfg)
		for _, table := range []string{n.leases, n.ledger, n.deadLetters} {
			_, _ = db.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: &table})
		}
		for _, bucket := range []string{n.input, n.output} {
			if list, err := s3c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &bucket}); err == nil {
				for _, o := range list.Contents {
					_, _ = s3c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: o.Key})
				}
			}
			_, _ = s3c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: &bucket})
		}
	})
}

// putRecord writes one envelope to the stream as docs/envelope.md tells a producer to: checked
// against the schema, with the documented partition key, one record per event.
func putRecord(t *testing.T, kin *kinesis.Client, stream, bucket, key, op, sequencer, etag string, size int64) {
	t.Helper()
	env, err := newEnvelope(bucket, key, op, sequencer, etag, size, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	checkEnvelope(t, schemaV1(t), data)
	pk := partitionKey(bucket, key)
	if _, err := kin.PutRecord(t.Context(), &kinesis.PutRecordInput{StreamName: &stream, PartitionKey: &pk, Data: data}); err != nil {
		t.Fatalf("put %s record: %v", op, err)
	}
}

// readManifest returns the manifest at bucket/key, or nil if there is none.
func readManifest(ctx context.Context, s3c *s3.Client, bucket, key string) (*Manifest, error) {
	out, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if notFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer out.Body.Close()
	body, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("manifest %s: %w", body, err)
	}
	return &m, nil
}

// worker is a processor.Run in this test.
type worker struct {
	cancel  context.CancelFunc
	done    chan struct{} // closed when Run has returned
	err     error         // what Run returned
	timeout time.Duration // how long stop waits for Run
}

// startWorker starts processor.Run with h and waits until it is ready; the test ends with it
// stopped.
func startWorker(t *testing.T, awsCfg aws.Config, n names, h processor.Handler) *worker {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := &worker{cancel: cancel, done: make(chan struct{}), timeout: time.Minute}
	ready := make(chan struct{})
	cfg := processor.Config{
		Kinesis: kinesis.NewFromConfig(awsCfg), DynamoDB: dynamodb.NewFromConfig(awsCfg), Handler: h,
		Region: awsCfg.Region, StreamName: n.stream, WorkerID: "manifest-example-test",
		LeaseTable: n.leases, LedgerTable: n.ledger, DeadLetterTable: n.deadLetters,
		InputBuckets:      []string{n.input},
		ShardSyncInterval: time.Second, LeasePassInterval: 100 * time.Millisecond,
		IdleBetweenReads: 100 * time.Millisecond, StopTimeout: 15 * time.Second,
		Registerer: prometheus.NewRegistry(),
		Logger:     slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
		OnReady:    func() { close(ready) },
	}
	go func() {
		defer close(w.done)
		w.err = processor.Run(ctx, cfg)
	}()
	t.Cleanup(func() { _ = w.stop() })
	select {
	case <-ready:
	case <-w.done:
		t.Fatalf("Run returned before the worker was ready: %v", w.err)
	case <-time.After(time.Minute):
		t.Fatal("worker not ready within a minute")
	}
	return w
}

// stop cancels Run and returns what it returned.
func (w *worker) stop() error {
	w.cancel()
	select {
	case <-w.done:
		return w.err
	case <-time.After(w.timeout):
		return fmt.Errorf("Run did not return within %v of its cancel", w.timeout)
	}
}

// waitFor polls cond until it is true and fails t when it is not within timeout or returns an
// error.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, err := cond()
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		if ok {
			return
		}
		select {
		case <-tick.C:
		case <-deadline.C:
			t.Fatalf("%s: not within %v", what, timeout)
		}
	}
}
