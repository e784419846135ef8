package chaos

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// op is one S3 operation the load generator did.
type op struct {
	At   time.Time
	Key  string
	Kind string // "put" or "delete"
	ETag string
}

// load does random puts, deletes and re-puts over a fixed set of keys, each key touched by one
// goroutine at a time, and remembers every operation per key.
type load struct {
	s3     *s3.Client
	bucket string
	keys   []string
	images [][]byte // small JPEGs, one per version colour

	mu      sync.Mutex
	history map[string][]op
	puts    int
	deletes int
	failed  int
	exists  map[string]bool
}

func newLoad(c *s3.Client, bucket string, keys int, rng *rand.Rand) (*load, error) {
	l := &load{s3: c, bucket: bucket, history: map[string][]op{}, exists: map[string]bool{}}
	for i := 0; i < keys; i++ {
		l.keys = append(l.keys, fmt.Sprintf("chaos/%03d/img-%04d.jpg", i%17, i))
	}
	for v := 0; v < 32; v++ {
		img := image.NewRGBA(image.Rect(0, 0, 48, 32))
		base := color.RGBA{uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256)), 255}
		for y := 0; y < 32; y++ {
			for x := 0; x < 48; x++ {
				img.Set(x, y, color.RGBA{base.R + uint8(x), base.G + uint8(y), base.B, 255})
			}
		}
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 80}); err != nil {
			return nil, err
		}
		l.images = append(l.images, buf.Bytes())
	}
	return l, nil
}

// run issues operations at rate per second until ctx ends. Each operation is decided by rng (in
// one goroutine, so a seed gives the same sequence of decisions) and executed by a small pool.
func (l *load) run(ctx context.Context, rate float64, rng *rand.Rand) {
	type task struct {
		key   string
		image int // -1: delete
	}
	tasks := make(chan task)
	busy := map[string]bool{}
	var busyMu sync.Mutex
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range tasks {
				l.do(ctx, t.key, t.image)
				busyMu.Lock()
				delete(busy, t.key)
				busyMu.Unlock()
			}
		}()
	}
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer func() {
		tick.Stop()
		close(tasks)
		wg.Wait()
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		key := l.keys[rng.IntN(len(l.keys))]
		image := rng.IntN(len(l.images))
		if rng.Float64() < 0.25 {
			image = -1
		}
		busyMu.Lock()
		if busy[key] {
			busyMu.Unlock()
			continue
		}
		busy[key] = true
		busyMu.Unlock()
		select {
		case tasks <- task{key, image}:
		case <-ctx.Done():
			return
		}
	}
}

func (l *load) do(ctx context.Context, key string, image int) {
	opCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	l.mu.Lock()
	exists := l.exists[key]
	l.mu.Unlock()
	if image < 0 && !exists {
		image = 0 // nothing to delete: put instead
	}
	var rec op
	if image < 0 {
		_, err := l.s3.DeleteObject(opCtx, &s3.DeleteObjectInput{Bucket: aws.String(l.bucket), Key: aws.String(key)})
		if err != nil {
			l.fail()
			return
		}
		rec = op{At: time.Now(), Key: key, Kind: "delete"}
	} else {
		out, err := l.s3.PutObject(opCtx, &s3.PutObjectInput{
			Bucket: aws.String(l.bucket), Key: aws.String(key), Body: bytes.NewReader(l.images[image]),
			ContentType: aws.String("image/jpeg"),
		})
		if err != nil {
			l.fail()
			return
		}
		rec = op{At: time.Now(), Key: key, Kind: "put", ETag: strings.Trim(aws.ToString(out.ETag), `"`)}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.history[key] = append(l.history[key], rec)
	l.exists[key] = rec.Kind == "put"
	if rec.Kind == "put" {
		l.puts++
	} else {
		l.deletes++
	}
}

func (l *load) fail() {
	l.mu.Lock()
	l.failed++
	l.mu.Unlock()
}

// counts returns puts, deletes and failed operations so far.
func (l *load) counts() (puts, deletes, failed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.puts, l.deletes, l.failed
}

func (l *load) historyOf(key string) []op {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]op(nil), l.history[key]...)
}
