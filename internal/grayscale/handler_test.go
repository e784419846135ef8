package grayscale

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shardline/shardline/internal/envelope"
	"github.com/shardline/shardline/processor"
)

const (
	inBucket  = "input"
	outBucket = "output"
)

func newTestConverter(t testing.TB, store ObjectStore, mutate func(*Config)) *Converter {
	t.Helper()
	cfg := Config{Store: store, OutputBucket: outBucket}
	if mutate != nil {
		mutate(&cfg)
	}
	h, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return h
}

// assertGray decodes data and fails unless every pixel has R == G == B; it returns the image.
func assertGray(t *testing.T, data []byte) image.Image {
	t.Helper()
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("output does not decode: %v", err)
	}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			if c.R != c.G || c.G != c.B {
				t.Fatalf("pixel (%d,%d) = %v is not gray", x, y, c)
			}
		}
	}
	return img
}

// assertOutcome checks err against a wanted reason: "" means success, "transient" a
// non-permanent error, anything else a permanent error with that reason.
func assertOutcome(t *testing.T, err error, want string) {
	t.Helper()
	switch want {
	case "":
		if err != nil {
			t.Fatalf("Handle: %v, want success", err)
		}
	case "transient":
		if err == nil || errors.Is(err, processor.ErrPermanent) {
			t.Fatalf("Handle: %v, want a transient error", err)
		}
	default:
		if !errors.Is(err, processor.ErrPermanent) || processor.ReasonOf(err) != want {
			t.Fatalf("Handle: %v (reason %q), want permanent %q", err, processor.ReasonOf(err), want)
		}
	}
}

func TestHandlePut(t *testing.T) {
	src := gradient(64, 48)
	tests := []struct {
		name      string
		key       string
		data      []byte
		versionID string
		prefix    string
		wantType  string
		exactLuma bool // lossless input: output must equal color.GrayModel of the input
		wantAlpha bool // input has transparency that the output must keep
	}{
		{name: "jpeg", key: "photos/a.jpg", data: encodeJPEG(t, src), wantType: contentTypeJPEG},
		{name: "png", key: "photos/a.png", data: encodePNG(t, src), wantType: contentTypePNG, exactLuma: true},
		{name: "png with alpha", key: "a.png", data: encodePNG(t, translucentGradient(64, 48)), wantType: contentTypePNG, wantAlpha: true},
		{name: "gif becomes png", key: "a.gif", data: encodeGIF(t, src), wantType: contentTypePNG},
		{name: "bmp becomes png", key: "a.bmp", data: encodeBMP(t, src), wantType: contentTypePNG, exactLuma: true},
		{name: "tiff becomes png", key: "a.tif", data: encodeTIFF(t, src), wantType: contentTypePNG, exactLuma: true},
		{name: "versioned input", key: "v.jpg", data: encodeJPEG(t, src), versionID: "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY", wantType: contentTypeJPEG},
		{name: "prefix", key: "a.jpg", data: encodeJPEG(t, src), prefix: "gray/", wantType: contentTypeJPEG},
		{name: "non-ascii key", key: "fotos/été 2024/ü+ñ.png", data: encodePNG(t, src), wantType: contentTypePNG, exactLuma: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store := newFakeStore()
			in := store.add(inBucket, tc.key, tc.data, tc.versionID)
			h := newTestConverter(t, store, func(c *Config) { c.OutputPrefix = tc.prefix })
			ev := testEvent(t, envelope.OpPut, inBucket, tc.key)

			assertOutcome(t, h.Handle(context.Background(), ev), "")

			out, ok := store.get(outBucket, tc.prefix+tc.key)
			if !ok {
				t.Fatalf("no output at %s/%s", outBucket, tc.prefix+tc.key)
			}
			if out.contentType != tc.wantType {
				t.Errorf("ContentType = %q, want %q", out.contentType, tc.wantType)
			}
			img := assertGray(t, out.data)
			if got := img.Bounds().Size(); got != src.Bounds().Size() {
				t.Errorf("output size %v, want %v", got, src.Bounds().Size())
			}
			if tc.exactLuma {
				for y := range 48 {
					for x := range 64 {
						want := color.GrayModel.Convert(src.At(x, y)).(color.Gray).Y
						if got := color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y; got != want {
							t.Fatalf("pixel (%d,%d) luma %d, want %d", x, y, got, want)
						}
					}
				}
			}
			if tc.wantAlpha {
				translucent := translucentGradient(64, 48)
				for _, p := range []image.Point{{0, 0}, {10, 20}, {63, 47}} {
					_, _, _, a := img.At(p.X, p.Y).RGBA()
					if want := uint32(translucent.NRGBAAt(p.X, p.Y).A) * 0x101; a != want {
						t.Errorf("alpha at %v = %d, want %d", p, a, want)
					}
				}
			}

			wantMeta := map[string]string{
				MetaSourceETag:      strings.Trim(in.etag, `"`),
				MetaSourceSequencer: ev.Sequencer,
				MetaSourceKey:       SourceKeyValue(inBucket, tc.key),
				MetaRendition:       "grayscale-1 q90",
			}
			if tc.versionID != "" {
				wantMeta[MetaSourceVersionID] = tc.versionID
			}
			if len(out.meta) != len(wantMeta) {
				t.Errorf("metadata = %v, want %v", out.meta, wantMeta)
			}
			for k, v := range wantMeta {
				if out.meta[k] != v {
					t.Errorf("metadata %s = %q, want %q", k, out.meta[k], v)
				}
			}
			for k, v := range out.meta {
				for _, r := range k + v {
					if r > 0x7e || r < 0x20 {
						t.Errorf("metadata %s=%q is not printable ASCII", k, v)
					}
				}
			}
			if got, err := url.PathUnescape(out.meta[MetaSourceKey]); err != nil || got != inBucket+"/"+tc.key {
				t.Errorf("PathUnescape(source-key) = %q, %v; want %q", got, err, inBucket+"/"+tc.key)
			}
		})
	}
}

func TestHandlePutRejects(t *testing.T) {
	realJPEG := encodeJPEG(t, gradient(64, 48))
	tests := []struct {
		name  string
		data  []byte // input content; nil means no input object
		cfg   func(*Config)
		store func(*fakeStore)
		// getErr, putErr and deleteErr, when set, are the store's answer to every such call.
		getErr, putErr, deleteErr error
		want                      string // "" success, "transient", or a permanent reason
		wantOutput                bool   // the pre-existing output must still exist afterwards
		wantReads                 int64  // -1: don't care
	}{
		{name: "missing input deletes output", data: nil, want: "", wantOutput: false, wantReads: 0},
		{name: "zero bytes", data: []byte{}, want: ReasonEmptyObject, wantOutput: true, wantReads: -1},
		{name: "text file", data: []byte("hello"), want: ReasonNotAnImage, wantOutput: true, wantReads: -1},
		{name: "truncated jpeg", data: realJPEG[:len(realJPEG)/2], want: ReasonCorruptImage, wantOutput: true, wantReads: -1},
		{name: "png header with bad crc", data: func() []byte { b := pngHeader(10, 10); b[29] ^= 0xff; return b }(), want: ReasonCorruptImage, wantOutput: true, wantReads: -1},
		{name: "decompression bomb", data: pngHeader(100000, 100000), want: ReasonTooManyPixels, wantOutput: true, wantReads: -1},
		{name: "zero dimensions", data: gifHeader(0, 0), want: ReasonTooManyPixels, wantOutput: true, wantReads: -1},
		{name: "tiff bomb", data: tiffWithDims(t, encodeTIFF(t, gradient(8, 8)), 65535, 65535), want: ReasonTooManyPixels, wantOutput: true, wantReads: -1},
		{name: "one pixel over the limit", data: encodePNG(t, gradient(11, 10)), cfg: func(c *Config) { c.MaxPixels = 109 }, want: ReasonTooManyPixels, wantOutput: true, wantReads: -1},
		{name: "exactly the limit", data: encodePNG(t, gradient(11, 10)), cfg: func(c *Config) { c.MaxPixels = 110 }, want: "", wantOutput: true, wantReads: -1},
		{name: "content-length above MaxBytes is not read", data: realJPEG, cfg: func(c *Config) { c.MaxBytes = int64(len(realJPEG)) - 1 }, want: ReasonTooLarge, wantOutput: true, wantReads: 0},
		{name: "body above MaxBytes without content-length", data: realJPEG, cfg: func(c *Config) { c.MaxBytes = 100 }, store: func(f *fakeStore) { f.hideLength = true }, want: ReasonTooLarge, wantOutput: true, wantReads: -1},
		{name: "exactly MaxBytes", data: realJPEG, cfg: func(c *Config) { c.MaxBytes = int64(len(realJPEG)) }, want: "", wantOutput: true, wantReads: -1},
		{name: "access denied on get", data: realJPEG, getErr: sdkError("GetObject", http.StatusForbidden, genericErr("AccessDenied", "Access Denied")), want: ReasonAccessDenied, wantOutput: true, wantReads: 0},
		{name: "access denied on put", data: realJPEG, putErr: sdkError("PutObject", http.StatusForbidden, genericErr("AccessDenied", "Access Denied")), want: ReasonAccessDenied, wantOutput: true, wantReads: -1},
		{name: "no such input bucket keeps output", data: realJPEG, getErr: sdkError("GetObject", http.StatusNotFound, genericErr("NoSuchBucket", "The specified bucket does not exist")), want: ReasonNoSuchBucket, wantOutput: true, wantReads: 0},
		{name: "503 on get", data: realJPEG, getErr: sdkError("GetObject", http.StatusServiceUnavailable, genericErr("SlowDown", "Please reduce your request rate.")), want: "transient", wantOutput: true, wantReads: 0},
		{name: "503 on put", data: realJPEG, putErr: sdkError("PutObject", http.StatusServiceUnavailable, genericErr("ServiceUnavailable", "")), want: "transient", wantOutput: true, wantReads: -1},
		{name: "503 deleting output of missing input", data: nil, deleteErr: sdkError("DeleteObject", http.StatusServiceUnavailable, genericErr("ServiceUnavailable", "")), want: "transient", wantOutput: true, wantReads: 0},
		{name: "network error on get", data: realJPEG, getErr: io.ErrUnexpectedEOF, want: "transient", wantOutput: true, wantReads: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			const key = "k.jpg"
			store := newFakeStore()
			if tc.data != nil {
				store.add(inBucket, key, tc.data, "")
			}
			store.add(outBucket, key, []byte("previous output"), "")
			store.getErr, store.putErr, store.deleteErr = tc.getErr, tc.putErr, tc.deleteErr
			if tc.store != nil {
				tc.store(store)
			}
			h := newTestConverter(t, store, tc.cfg)

			err := h.Handle(context.Background(), testEvent(t, envelope.OpPut, inBucket, key))
			assertOutcome(t, err, tc.want)

			// A permanent failure of the input's current content leaves no output derived
			// from older content; a transient one leaves the output alone.
			wantOutput := tc.wantOutput && !contentReasons[tc.want]
			out, ok := store.get(outBucket, key)
			if ok != wantOutput {
				t.Errorf("output exists = %v, want %v", ok, wantOutput)
			}
			if tc.want != "" && ok && string(out.data) != "previous output" {
				t.Errorf("a failed put changed the output")
			}
			if tc.wantReads >= 0 && store.reads.Load() != tc.wantReads {
				t.Errorf("body Read calls = %d, want %d", store.reads.Load(), tc.wantReads)
			}
		})
	}
}

// contentReasons are the permanent failures of the input's content (not of access to it).
var contentReasons = map[string]bool{
	ReasonTooLarge: true, ReasonEmptyObject: true, ReasonNotAnImage: true, ReasonTooManyPixels: true,
	ReasonCorruptImage: true, ReasonEncodeFailed: true,
}

// TestHandleDecompressionBomb shows a PNG declaring 100000×100000 pixels (40 GB decoded) is
// rejected from its header: quickly, with little memory, and without writing anything.
func TestHandleDecompressionBomb(t *testing.T) {
	store := newFakeStore()
	store.add(inBucket, "bomb.png", pngHeader(100000, 100000), "")
	h := newTestConverter(t, store, nil)

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	err := h.Handle(context.Background(), testEvent(t, envelope.OpPut, inBucket, "bomb.png"))
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)

	assertOutcome(t, err, ReasonTooManyPixels)
	if elapsed > time.Second {
		t.Errorf("took %v, want well under a second", elapsed)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
		t.Errorf("allocated %d bytes, want under 1 MiB (the image must not be decoded)", alloc)
	}
	if n := store.puts.Load(); n != 0 {
		t.Errorf("PutObject called %d times, want 0", n)
	}
}

func TestHandleDelete(t *testing.T) {
	tests := []struct {
		name       string
		prefix     string
		haveOutput bool
		deleteErr  error
		want       string
	}{
		{name: "removes output", haveOutput: true},
		{name: "removes prefixed output", prefix: "gray/", haveOutput: true},
		{name: "missing output is success"},
		{name: "NoSuchKey from the server is success", haveOutput: true, deleteErr: sdkError("DeleteObject", http.StatusNotFound, genericErr("NoSuchKey", ""))},
		{name: "access denied", haveOutput: true, deleteErr: sdkError("DeleteObject", http.StatusForbidden, genericErr("AccessDenied", "")), want: ReasonAccessDenied},
		{name: "no such output bucket", haveOutput: true, deleteErr: sdkError("DeleteObject", http.StatusNotFound, genericErr("NoSuchBucket", "")), want: ReasonNoSuchBucket},
		{name: "throttled", haveOutput: true, deleteErr: sdkError("DeleteObject", http.StatusServiceUnavailable, genericErr("SlowDown", "")), want: "transient"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			const key = "a/b.jpg"
			store := newFakeStore()
			if tc.haveOutput {
				store.add(outBucket, tc.prefix+key, []byte("output"), "")
			}
			store.deleteErr = tc.deleteErr
			h := newTestConverter(t, store, func(c *Config) { c.OutputPrefix = tc.prefix })

			assertOutcome(t, h.Handle(context.Background(), testEvent(t, envelope.OpDelete, inBucket, key)), tc.want)

			if _, ok := store.get(outBucket, tc.prefix+key); ok && tc.want == "" && tc.deleteErr == nil {
				t.Errorf("output still exists")
			}
		})
	}
}

// TestDeleteOfAPresentInputConvertsIt is scenario 4 of issue 11 (and the handler's half of
// scenario 1): a delete event whose input still exists, as after deleting a non-current
// version, deleting the current version (an older one becomes current and S3 sends no
// ObjectCreated), removing a delete marker, or a reconcile repair that raced an upload. The
// handler converges to the input's current state: it converts the input instead of deleting the
// output. Deleting unconditionally left a live input without its output, forever.
func TestDeleteOfAPresentInputConvertsIt(t *testing.T) {
	realJPEG := encodeJPEG(t, gradient(32, 24))
	older := encodeJPEG(t, gradient(16, 16))
	tests := []struct {
		name       string
		haveOutput []byte // the output's source content, nil for none
	}{
		{"non-current version deleted: output already current", realJPEG},
		{"current version deleted: an older version is current again", older},
		{"delete marker removed: the object is back", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			const key = "v/a.jpg"
			store := newFakeStore()
			in := store.add(inBucket, key, realJPEG, "v2")
			h := newTestConverter(t, store, nil)
			if tc.haveOutput != nil {
				store.add(inBucket, key, tc.haveOutput, "v1")
				if err := h.Handle(context.Background(), testEvent(t, envelope.OpPut, inBucket, key)); err != nil {
					t.Fatal(err)
				}
				in = store.add(inBucket, key, realJPEG, "v2")
			}

			if err := h.Handle(context.Background(), testEvent(t, envelope.OpDelete, inBucket, key)); err != nil {
				t.Fatalf("Handle(delete) = %v", err)
			}
			out, ok := store.get(outBucket, key)
			if !ok {
				t.Fatal("the input exists but its output was deleted")
			}
			if got := out.meta[MetaSourceETag]; got != strings.Trim(in.etag, `"`) {
				t.Fatalf("output derived from %s, want the input's current content %s", got, in.etag)
			}
			if ok, err := h.Verify(context.Background(), testEvent(t, envelope.OpDelete, inBucket, key)); err != nil || !ok {
				t.Fatalf("Verify = %v, %v; want true", ok, err)
			}
		})
	}
}

// TestLateWriteLosesTheConditionalWrite: a slower writer read the output's state and the input's
// older content; meanwhile a faster one wrote the output from newer content. The slower write is
// refused by If-Match (If-None-Match for a new output) and the handler converges again, from the
// input's current content, instead of overwriting the newer output.
func TestLateWriteLosesTheConditionalWrite(t *testing.T) {
	for _, haveOutput := range []bool{false, true} {
		t.Run(fmt.Sprintf("output existed %v", haveOutput), func(t *testing.T) {
			const key = "race.jpg"
			store := newFakeStore()
			fast := newTestConverter(t, store, nil)
			slow := newTestConverter(t, store, nil)
			if haveOutput {
				store.add(inBucket, key, encodeJPEG(t, gradient(8, 8)), "")
				if err := fast.Handle(context.Background(), testEvent(t, envelope.OpPut, inBucket, key)); err != nil {
					t.Fatal(err)
				}
			}
			store.add(inBucket, key, encodeJPEG(t, gradient(16, 16)), "") // what the slow writer reads
			newer := encodeJPEG(t, gradient(32, 24))
			var once sync.Once
			store.beforeWrite = func() {
				once.Do(func() {
					// The input changes and the fast writer converges before our write lands.
					store.add(inBucket, key, newer, "")
					store.beforeWrite = nil
					if err := fast.Handle(context.Background(), testEvent(t, envelope.OpPut, inBucket, key)); err != nil {
						t.Error(err)
					}
				})
			}
			if err := slow.Handle(context.Background(), testEvent(t, envelope.OpPut, inBucket, key)); err != nil {
				t.Fatalf("slow Handle = %v", err)
			}
			want, _ := store.get(inBucket, key)
			out, _ := store.get(outBucket, key)
			if out.meta[MetaSourceETag] != strings.Trim(want.etag, `"`) {
				t.Fatalf("output derived from %s, want the current input %s", out.meta[MetaSourceETag], want.etag)
			}
			if store.refused.Load() != 1 {
				t.Fatalf("conditional writes refused = %d, want 1", store.refused.Load())
			}
		})
	}
}

func TestHandleRejectsEvent(t *testing.T) {
	tests := []struct {
		name   string
		prefix string
		ev     func(t *testing.T) processor.Event
		want   string
	}{
		{
			name: "output bucket without prefix is a loop",
			ev:   func(t *testing.T) processor.Event { return testEvent(t, envelope.OpPut, outBucket, "a.jpg") },
			want: ReasonOutputLoop,
		},
		{
			name: "own output under prefix is a loop", prefix: "gray/",
			ev:   func(t *testing.T) processor.Event { return testEvent(t, envelope.OpDelete, outBucket, "gray/a.jpg") },
			want: ReasonOutputLoop,
		},
		{
			name: "output key too long", prefix: "gray/",
			ev: func(t *testing.T) processor.Event {
				return testEvent(t, envelope.OpPut, inBucket, strings.Repeat("k", envelope.MaxKeyLen))
			},
			want: ReasonOutputKeyTooLong,
		},
		{
			name: "unknown op",
			ev: func(t *testing.T) processor.Event {
				ev := testEvent(t, envelope.OpPut, inBucket, "a.jpg")
				ev.Op = "copy"
				return ev
			},
			want: ReasonInvalidEvent,
		},
		{
			name: "empty key",
			ev:   func(t *testing.T) processor.Event { return processor.Event{Bucket: inBucket, Op: envelope.OpPut} },
			want: ReasonInvalidEvent,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store := newFakeStore()
			h := newTestConverter(t, store, func(c *Config) { c.OutputPrefix = tc.prefix })
			assertOutcome(t, h.Handle(context.Background(), tc.ev(t)), tc.want)
			if calls := store.gets.Load() + store.puts.Load() + store.deletes.Load(); calls != 0 {
				t.Errorf("%d store calls, want 0", calls)
			}
		})
	}
}

// cancelAfterFirstRead cancels a context on the first Read of the wrapped body.
type cancelAfterFirstRead struct {
	r      io.Reader
	cancel context.CancelFunc
}

func (c *cancelAfterFirstRead) Read(p []byte) (int, error) {
	c.cancel()
	return c.r.Read(p[:min(len(p), 16)])
}

func TestHandleCancellation(t *testing.T) {
	data := encodeJPEG(t, gradient(64, 48))
	tests := []struct {
		name  string
		setup func(f *fakeStore, cancel context.CancelFunc)
	}{
		{name: "before start", setup: func(_ *fakeStore, cancel context.CancelFunc) { cancel() }},
		{name: "while reading the body", setup: func(f *fakeStore, cancel context.CancelFunc) {
			f.wrapBody = func(r io.Reader) io.Reader { return &cancelAfterFirstRead{r: r, cancel: cancel} }
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store := newFakeStore()
			store.add(inBucket, "a.jpg", data, "")
			ctx, cancel := context.WithCancel(context.Background())
			t.Cleanup(cancel)
			tc.setup(store, cancel)
			h := newTestConverter(t, store, nil)

			err := h.Handle(ctx, testEvent(t, envelope.OpPut, inBucket, "a.jpg"))
			if !errors.Is(err, context.Canceled) || errors.Is(err, processor.ErrPermanent) {
				t.Fatalf("Handle: %v, want transient context.Canceled", err)
			}
			if n := store.puts.Load(); n != 0 {
				t.Errorf("PutObject called %d times", n)
			}
		})
	}
}

// TestStagesHonourCancellation checks that every CPU-bound stage stops on a done context and
// reports it as the (transient) context error rather than as a bad image.
func TestStagesHonourCancellation(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	data := encodePNG(t, gradient(64, 48))
	tests := []struct {
		name string
		run  func() error
	}{
		{name: "decode", run: func() error { _, err := decodeImage(ctx, data, DefaultMaxPixels); return err }},
		{name: "convert opaque", run: func() error { _, err := toGray(ctx, gradient(64, 48)); return err }},
		{name: "convert alpha", run: func() error { _, err := toGray(ctx, translucentGradient(64, 48)); return err }},
		{name: "encode jpeg", run: func() error {
			_, _, err := encodeImage(ctx, image.NewGray(image.Rect(0, 0, 8, 8)), "jpeg", 90)
			return err
		}},
		{name: "encode png", run: func() error {
			_, _, err := encodeImage(ctx, image.NewGray(image.Rect(0, 0, 8, 8)), "png", 90)
			return err
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			if !errors.Is(err, context.Canceled) || errors.Is(err, processor.ErrPermanent) {
				t.Fatalf("got %v, want transient context.Canceled", err)
			}
		})
	}
}

func TestOutputKey(t *testing.T) {
	keys := []string{"photo.jpg", "a/b/c.png", "../x", "/abs", "a/../../b", "./a", "..", ".", "a//b", "%2e%2e/x", "é/ü ñ+.jpg", "gray/nested.jpg"}
	for _, prefix := range []string{"", "gray/", "out"} {
		t.Run("prefix="+prefix, func(t *testing.T) {
			h := newTestConverter(t, newFakeStore(), func(c *Config) { c.OutputPrefix = prefix })
			seen := map[string]string{}
			for _, key := range keys {
				got := h.OutputKey(key)
				if got != prefix+key {
					t.Errorf("OutputKey(%q) = %q, want %q", key, got, prefix+key)
				}
				if !strings.HasPrefix(got, prefix) || strings.TrimPrefix(got, prefix) != key {
					t.Errorf("OutputKey(%q) = %q escapes prefix %q", key, got, prefix)
				}
				if other, dup := seen[got]; dup {
					t.Errorf("OutputKey(%q) == OutputKey(%q) == %q", key, other, got)
				}
				seen[got] = key
			}
		})
	}
}

func TestSourceKeyValue(t *testing.T) {
	tests := []struct {
		name, bucket, key string
		hashed            bool
	}{
		{name: "plain", bucket: "b", key: "a/b.jpg"},
		{name: "space and plus", bucket: "b", key: "my photo+1.jpg"},
		{name: "non-ascii", bucket: "b", key: "été/日本.png"},
		{name: "longest plain key", bucket: strings.Repeat("b", 63), key: strings.Repeat("k", envelope.MaxKeyLen)},
		{name: "escaped too long", bucket: "b", key: strings.Repeat("é", 300), hashed: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := SourceKeyValue(tc.bucket, tc.key)
			if len(v) > maxSourceKeyValue {
				t.Errorf("len = %d, want <= %d", len(v), maxSourceKeyValue)
			}
			for _, r := range v {
				if r < 0x21 || r > 0x7e {
					t.Fatalf("%q is not printable ASCII", v)
				}
			}
			if tc.hashed {
				if !strings.HasPrefix(v, "sha256:") || len(v) != len("sha256:")+64 {
					t.Errorf("got %q, want a sha256: value", v)
				}
				return
			}
			if got, err := url.PathUnescape(v); err != nil || got != tc.bucket+"/"+tc.key {
				t.Errorf("PathUnescape(%q) = %q, %v", v, got, err)
			}
		})
	}
}

func TestConfig(t *testing.T) {
	store := newFakeStore()
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{name: "minimal", cfg: Config{Store: store, OutputBucket: "o"}},
		{name: "full", cfg: Config{Store: store, OutputBucket: "o", OutputPrefix: "g/", MaxPixels: 1, MaxBytes: 1, JPEGQuality: 100}},
		{name: "no store", cfg: Config{OutputBucket: "o"}, wantErr: "Store"},
		{name: "no bucket", cfg: Config{Store: store}, wantErr: "OutputBucket"},
		{name: "prefix fills the key", cfg: Config{Store: store, OutputBucket: "o", OutputPrefix: strings.Repeat("p", 1024)}, wantErr: "OutputPrefix"},
		{name: "negative pixels", cfg: Config{Store: store, OutputBucket: "o", MaxPixels: -1}, wantErr: "MaxPixels"},
		{name: "negative bytes", cfg: Config{Store: store, OutputBucket: "o", MaxBytes: -1}, wantErr: "MaxBytes"},
		{name: "quality too high", cfg: Config{Store: store, OutputBucket: "o", JPEGQuality: 101}, wantErr: "JPEGQuality"},
		{name: "quality negative", cfg: Config{Store: store, OutputBucket: "o", JPEGQuality: -1}, wantErr: "JPEGQuality"},
		{name: "budget holds one image", cfg: Config{Store: store, OutputBucket: "o", MaxPixels: 10, PixelBudget: 10}},
		{name: "budget negative", cfg: Config{Store: store, OutputBucket: "o", PixelBudget: -1}, wantErr: "PixelBudget"},
		{name: "budget below max pixels", cfg: Config{Store: store, OutputBucket: "o", MaxPixels: 10, PixelBudget: 9}, wantErr: "PixelBudget"},
		{name: "budget below default max pixels", cfg: Config{Store: store, OutputBucket: "o", PixelBudget: DefaultMaxPixels - 1}, wantErr: "PixelBudget"},
		{name: "memory budget negative", cfg: Config{Store: store, OutputBucket: "o", MemoryBudget: -1}, wantErr: "MemoryBudget"},
		{name: "memory budget overrides pixel budget", cfg: Config{Store: store, OutputBucket: "o", MemoryBudget: 1 << 30, PixelBudget: 9}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
			} else if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Validate: %v, want an error about %s", err, tc.wantErr)
			}
			h, err2 := New(tc.cfg)
			if (err == nil) != (err2 == nil) || (err == nil && h == nil) {
				t.Fatalf("New disagrees with Validate: %v vs %v", err2, err)
			}
		})
	}

	t.Run("defaults", func(t *testing.T) {
		h := newTestConverter(t, store, nil)
		if h.cfg.MaxPixels != DefaultMaxPixels || h.cfg.MaxBytes != DefaultMaxBytes || h.cfg.JPEGQuality != DefaultJPEGQuality ||
			h.cfg.MemoryBudget != defaultMemoryBudget(0, DefaultMaxPixels, debug.SetMemoryLimit(-1)) || h.budget.size != h.cfg.MemoryBudget {
			t.Errorf("defaults not applied: %+v", h.cfg)
		}
	})
}
