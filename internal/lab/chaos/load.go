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
	Kind string // opPut, opDelete, opDeleteCurrent, opDeleteNoncurrent or opRemoveMarker
	ETag string // of the version put or deleted
	// Version is the version put, deleted, or the delete marker created or removed (versioned
	// bucket only).
	Version string
}

// Kinds of load operations. In a versioned bucket a delete creates a delete marker; the others
// are deletes of one version (DeleteObject with VersionId).
const (
	opPut              = "put"
	opDelete           = "delete"
	opDeleteCurrent    = "delete-current-version"
	opDeleteNoncurrent = "delete-noncurrent-version"
	opRemoveMarker     = "remove-delete-marker"
)

// version is one version of a key in a versioned bucket, oldest first.
type version struct {
	id     string
	etag   string
	marker bool
}

// load does random puts, deletes and re-puts over a fixed set of keys, each key touched by one
// goroutine at a time, and remembers every operation per key. In a versioned bucket some deletes
// remove one version (the current one, so an older one becomes current, or a non-current one)
// or a delete marker (so the object is back), and it tracks each key's versions to choose them.
type load struct {
	s3        *s3.Client
	bucket    string
	keys      []string
	images    [][]byte // small JPEGs, one per version colour
	versioned bool

	mu       sync.Mutex
	history  map[string][]op
	puts     int
	deletes  int // every DeleteObject call, version deletes and marker removals included
	kinds    map[string]int
	failed   int
	exists   map[string]bool
	versions map[string][]version
}

func newLoad(c *s3.Client, bucket string, keys int, rng *rand.Rand) (*load, error) {
	l := &load{s3: c, bucket: bucket, history: map[string][]op{}, exists: map[string]bool{}, kinds: map[string]int{}, versions: map[string][]version{}}
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
		image int     // -1: delete
		pick  float64 // chooses the kind of delete and the version (versioned bucket)
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
				l.do(ctx, t.key, t.image, t.pick)
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
		pick := rng.Float64()
		busyMu.Lock()
		if busy[key] {
			busyMu.Unlock()
			continue
		}
		busy[key] = true
		busyMu.Unlock()
		select {
		case tasks <- task{key, image, pick}:
		case <-ctx.Done():
			return
		}
	}
}

func (l *load) do(ctx context.Context, key string, image int, pick float64) {
	opCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	l.mu.Lock()
	exists := l.exists[key]
	vs := append([]version(nil), l.versions[key]...)
	l.mu.Unlock()
	var rec op
	switch {
	case image >= 0 || (!exists && len(vs) == 0):
		if image < 0 {
			image = 0 // nothing to delete: put instead
		}
		out, err := l.s3.PutObject(opCtx, &s3.PutObjectInput{
			Bucket: aws.String(l.bucket), Key: aws.String(key), Body: bytes.NewReader(l.images[image]),
			ContentType: aws.String("image/jpeg"),
		})
		if err != nil {
			l.fail()
			return
		}
		rec = op{Kind: opPut, ETag: strings.Trim(aws.ToString(out.ETag), `"`), Version: aws.ToString(out.VersionId)}
	case !l.versioned || (exists && pick < 0.4):
		out, err := l.s3.DeleteObject(opCtx, &s3.DeleteObjectInput{Bucket: aws.String(l.bucket), Key: aws.String(key)})
		if err != nil {
			l.fail()
			return
		}
		rec = op{Kind: opDelete, Version: aws.ToString(out.VersionId)}
	default:
		// A version delete: a delete marker (the current one when the object is deleted) with
		// probability 0.5 if there is one, else a version drawn by pick.
		idx := -1
		var markers, objects []int
		for i, v := range vs {
			if v.marker {
				markers = append(markers, i)
			} else {
				objects = append(objects, i)
			}
		}
		switch {
		case len(markers) > 0 && (pick >= 0.7 || len(objects) == 0):
			idx = markers[len(markers)-1]
		case len(objects) > 0:
			idx = objects[int(pick*1e6)%len(objects)]
		default:
			return
		}
		v := vs[idx]
		if _, err := l.s3.DeleteObject(opCtx, &s3.DeleteObjectInput{Bucket: aws.String(l.bucket), Key: aws.String(key), VersionId: aws.String(v.id)}); err != nil {
			l.fail()
			return
		}
		kind := opDeleteNoncurrent
		switch {
		case v.marker:
			kind = opRemoveMarker
		case idx == len(vs)-1:
			kind = opDeleteCurrent
		}
		rec = op{Kind: kind, ETag: v.etag, Version: v.id}
	}
	rec.At, rec.Key = time.Now(), key
	l.mu.Lock()
	defer l.mu.Unlock()
	l.history[key] = append(l.history[key], rec)
	l.kinds[rec.Kind]++
	if rec.Kind == opPut {
		l.puts++
	} else {
		l.deletes++
	}
	if !l.versioned {
		l.exists[key] = rec.Kind == opPut
		return
	}
	cur := l.versions[key]
	switch rec.Kind {
	case opPut:
		cur = append(cur, version{id: rec.Version, etag: rec.ETag})
	case opDelete:
		cur = append(cur, version{id: rec.Version, marker: true})
	default:
		for i, v := range cur {
			if v.id == rec.Version {
				cur = append(cur[:i:i], cur[i+1:]...)
				break
			}
		}
	}
	l.versions[key] = cur
	l.exists[key] = len(cur) > 0 && !cur[len(cur)-1].marker
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

// kindCounts returns how many operations of each kind succeeded.
func (l *load) kindCounts() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]int, len(l.kinds))
	for k, n := range l.kinds {
		out[k] = n
	}
	return out
}

func (l *load) historyOf(key string) []op {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]op(nil), l.history[key]...)
}
