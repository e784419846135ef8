package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"golang.org/x/sync/errgroup"

	"github.com/shardline/shardline/internal/envelope"
	"github.com/shardline/shardline/internal/forwarder"
	"github.com/shardline/shardline/internal/grayscale"
	"github.com/shardline/shardline/internal/lab/emulators"
	"github.com/shardline/shardline/internal/telemetry"
	"github.com/shardline/shardline/processor"
)

const (
	// latencyPuts objects are put at latencyRate per second, cycling through the photos.
	latencyPuts = 30
	latencyRate = 1
	// webhookWait bounds waiting for another user of the webhook address (a test) to finish.
	webhookWait = 3 * time.Minute
)

// bucketFilter passes on only the events of one bucket: MinIO may still hold notifications of
// other buckets for the webhook address (left by earlier runs), which are not ours to apply.
type bucketFilter struct {
	next     forwarder.EventWriter
	bucket   string
	received *clock // marks each key of bucket when its event arrives
	streamed *clock // marks each key once its record is on the stream (PutRecords returned)
}

func (f *bucketFilter) Write(ctx context.Context, events []envelope.Event) error {
	keep := make([]envelope.Event, 0, len(events))
	for _, ev := range events {
		if ev.Bucket == f.bucket {
			keep = append(keep, ev)
			f.received.mark(ev.Key)
		}
	}
	if len(keep) == 0 {
		return nil
	}
	if err := f.next.Write(ctx, keep); err != nil {
		return err
	}
	for _, ev := range keep {
		f.streamed.mark(ev.Key)
	}
	return nil
}

// clock records, per key, the first time something happened to it.
type clock struct {
	mu sync.Mutex
	at map[string]time.Time
}

func (c *clock) mark(key string) {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.at == nil {
		c.at = map[string]time.Time{}
	}
	if _, ok := c.at[key]; !ok {
		c.at[key] = now
	}
}

func (c *clock) get(key string) (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.at[key]
	return t, ok
}

func (c *clock) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.at)
}

func (r *runner) latencySection(ctx context.Context, t *table) {
	const sec = SectionLatency
	what := "PUT → output present"
	r.cfg.Progress.Info("latency: waiting for the webhook address", "addr", r.cfg.WebhookAddr)
	lat, note, err := r.latencyRun(ctx)
	if err != nil {
		t.fail(sec, what, "", err)
		return
	}
	t.add(row{section: sec, what: what + ", p50", figure: ms(percentile(lat.total, 0.50)), note: note})
	t.add(row{section: sec, what: what + ", p99", figure: ms(percentile(lat.total, 0.99)),
		note: fmt.Sprintf("max %s over %d objects", ms(slices.Max(lat.total)), len(lat.total))})
	p50 := percentile(lat.worker, 0.50)
	t.add(row{section: sec, what: "webhook received → output present, p50", figure: ms(p50), target: "≤ 300 ms", met: yesNo(p50 <= 300*time.Millisecond),
		note: fmt.Sprintf("the forwarder's and worker's part; p99 %s. p50 by stage: → on the stream %s (forwarder PutRecords), → handler start %s (poll: %s idle after an empty read, a busy caught-up shard read every %s; ledger), handler %s (grayscale: read, convert, conditional write)",
			ms(percentile(lat.worker, 0.99)), ms(percentile(lat.toStream, 0.5)), ms(percentile(lat.toHandler, 0.5)), ms(latencyIdleBetweenReads), ms(processor.DefaultReadInterval), ms(percentile(lat.inHandler, 0.5)))})
}

// latencyIdleBetweenReads is the worker's pause after an empty GetRecords in the latency
// section: the default of `work --idle-between-reads` and worker.Config.IdleBetweenReads. The
// KCL pauses only after an empty read (vmware-go-kcl-v2 polling-shard-consumer.go); after a
// batch with records the processor paces the next read (processor.Config.ReadInterval).
const latencyIdleBetweenReads = 200 * time.Millisecond

// latencies are the per-object durations of the latency section, by stage.
type latencies struct {
	total     []time.Duration // PUT → output present
	worker    []time.Duration // webhook received → output present
	toWebhook []time.Duration // PUT → webhook received (MinIO)
	toStream  []time.Duration // webhook received → record on the stream
	toHandler []time.Duration // record on the stream → handler start
	inHandler []time.Duration // handler start → output written
}

// percentile is the nearest-rank percentile p (0 < p ≤ 1) of d, which need not be sorted.
func percentile(d []time.Duration, p float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(float64(len(s))*p+0.999999) - 1
	return s[max(0, min(i, len(s)-1))]
}

// latencyRun puts latencyPuts photos into a fresh input bucket of MinIO at latencyRate per second
// and measures, per object, the time from the end of its PUT until the grayscale handler of a
// worker has written its output. The notifications travel for real: MinIO posts them to the
// webhook address, where a forwarder writes them to a 2-shard stream that the worker reads.
func (r *runner) latencyRun(ctx context.Context) (lat latencies, note string, err error) {
	photos, err := findPhotos(r.cfg.PhotosDir)
	if err != nil {
		return latencies{}, "", err
	}
	datas := make([][]byte, len(photos))
	for i, p := range photos {
		if datas[i], err = os.ReadFile(p.path); err != nil {
			return latencies{}, "", err
		}
	}

	release, err := emulators.LockWebhook(ctx, r.cfg.WebhookAddr, webhookWait)
	if err != nil {
		return latencies{}, "", err
	}
	defer release()
	ln, err := net.Listen("tcp", r.cfg.WebhookAddr)
	if err != nil {
		return latencies{}, "", fmt.Errorf("webhook address %s (is a demo or forwarder running?): %w", r.cfg.WebhookAddr, err)
	}
	res, err := r.create(ctx, "latency", pipelineShards, true, r.cfg.NotifyARN)
	if err != nil {
		ln.Close()
		return latencies{}, "", err
	}
	defer r.remove(res)

	writer, err := r.newWriter(res.stream)
	if err != nil {
		ln.Close()
		return latencies{}, "", err
	}
	var putDone, received, streamed, started, outDone clock
	filter := &bucketFilter{next: writer, bucket: res.input, received: &received, streamed: &streamed}
	fwd, err := forwarder.New(forwarder.Config{Writer: filter, Logger: r.cfg.Logs})
	if err != nil {
		ln.Close()
		return latencies{}, "", err
	}
	serveCtx, stopServing := context.WithCancel(ctx)
	var serving errgroup.Group
	serving.Go(func() error { return telemetry.ServeListener(serveCtx, ln, fwd.Webhook(), r.cfg.Logs) })
	defer func() {
		stopServing()
		if serr := serving.Wait(); serr != nil && err == nil {
			err = fmt.Errorf("webhook server: %w", serr)
		}
	}()

	gray, err := grayscale.New(grayscale.Config{Store: r.cfg.Clients.S3, OutputBucket: res.output, JPEGQuality: r.cfg.JPEGQuality})
	if err != nil {
		return latencies{}, "", err
	}
	var handlerErrs atomic.Int64
	h := processor.HandlerFunc(func(ctx context.Context, ev processor.Event) error {
		started.mark(ev.Key)
		err := gray.Handle(ctx, ev)
		if err != nil {
			handlerErrs.Add(1)
		} else if ev.Op == envelope.OpPut {
			outDone.mark(ev.Key)
		}
		return err
	})
	w := r.startWorker(ctx, res, h, workerOptions{idleBetweenReads: latencyIdleBetweenReads})
	defer func() {
		if serr := w.stop(); serr != nil && err == nil {
			err = fmt.Errorf("worker stop: %w", serr)
		}
	}()
	if err := w.waitShards(ctx, pipelineShards, time.Minute); err != nil {
		return latencies{}, "", err
	}

	r.cfg.Progress.Info("latency: putting photos", "objects", latencyPuts, "per_second", latencyRate)
	keys := make([]string, latencyPuts)
	var puts errgroup.Group
	puts.SetLimit(8)
	// Ending early (ctx) is reported below, once the puts already started have returned.
	_ = paced(ctx, len(keys), time.Second/latencyRate, func(i int) error {
		p, data := photos[i%len(photos)], datas[i%len(photos)]
		key := fmt.Sprintf("latency/%03d-%s", i, filepath.Base(p.path))
		keys[i] = key
		puts.Go(func() error {
			_, err := r.cfg.Clients.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(res.input), Key: aws.String(key),
				Body: bytes.NewReader(data), ContentLength: aws.Int64(int64(len(data)))})
			if err != nil {
				return fmt.Errorf("put %s: %w", key, err)
			}
			putDone.mark(key)
			return nil
		})
		return nil
	})
	if err := puts.Wait(); err != nil {
		return latencies{}, "", err
	}
	if err := ctx.Err(); err != nil {
		return latencies{}, "", err
	}
	err = waitUntil(ctx, 2*time.Minute, 50*time.Millisecond, func() (bool, error) { return outDone.len() >= len(keys), nil })
	if err != nil {
		return latencies{}, "", fmt.Errorf("%d of %d outputs written (%d handler errors): %w", outDone.len(), len(keys), handlerErrs.Load(), err)
	}

	for _, k := range keys {
		p, ok1 := putDone.get(k)
		w, ok2 := received.get(k)
		s, ok3 := started.get(k)
		o, ok4 := outDone.get(k)
		st, ok5 := streamed.get(k)
		if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 {
			return latencies{}, "", fmt.Errorf("no timing for %s", k)
		}
		lat.total, lat.worker = append(lat.total, o.Sub(p)), append(lat.worker, o.Sub(w))
		lat.toWebhook, lat.toStream = append(lat.toWebhook, w.Sub(p)), append(lat.toStream, st.Sub(w))
		lat.toHandler, lat.inHandler = append(lat.toHandler, s.Sub(st)), append(lat.inHandler, o.Sub(s))
	}
	present := countOutputs(ctx, r.cfg.Clients.S3, res.output, keys)
	if present != len(keys) {
		return latencies{}, "", errors.New("outputs missing after the handler reported them written")
	}
	note = fmt.Sprintf("%d photos (JPEG+PNG) put at %d/s; MinIO webhook → forwarder → %d shards → worker → grayscale handler; %d/%d outputs present; "+
		"p50 by stage: PUT → webhook %s, → on the stream %s, → handler start %s, handler %s",
		len(keys), latencyRate, pipelineShards, present, len(keys),
		ms(percentile(lat.toWebhook, 0.5)), ms(percentile(lat.toStream, 0.5)), ms(percentile(lat.toHandler, 0.5)), ms(percentile(lat.inHandler, 0.5)))
	return lat, note, nil
}

// countOutputs counts the keys whose output answers a HEAD.
func countOutputs(ctx context.Context, c *s3.Client, bucket string, keys []string) int {
	n := 0
	for _, k := range keys {
		if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(k)}); err == nil {
			n++
		}
	}
	return n
}
