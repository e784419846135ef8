package grayscale

import (
	"bytes"
	"context"
	"encoding/binary"
	"net/http"
	"strings"
	"testing"

	"github.com/shardline/shardline/internal/envelope"
)

// jpegWithDims returns a copy of a baseline JPEG whose SOF0 header claims w×h.
func jpegWithDims(t testing.TB, data []byte, w, h uint16) []byte {
	t.Helper()
	data = bytes.Clone(data)
	i := bytes.Index(data, []byte{0xff, 0xc0})
	if i < 0 {
		t.Fatal("jpegWithDims: no SOF0 marker")
	}
	binary.BigEndian.PutUint16(data[i+5:], h)
	binary.BigEndian.PutUint16(data[i+7:], w)
	return data
}

// flipMiddle returns a copy of data with n bytes in the middle inverted.
func flipMiddle(data []byte, n int) []byte {
	data = bytes.Clone(data)
	mid := len(data) / 2
	for i := mid; i < mid+n && i < len(data); i++ {
		data[i] ^= 0xff
	}
	return data
}

// TestHandleHostileInputs covers the worker-side input cases of issue #4 that reach the
// handler: each is a permanent failure with a stable reason (the processor dead-letters it with
// that reason and the shard moves on), nothing is written, and the previous output is kept for
// the processor to remove. Bombs are refused from the header, before any pixel is decoded.
func TestHandleHostileInputs(t *testing.T) {
	src := gradient(64, 48)
	jpg := encodeJPEG(t, src)
	pngData := encodePNG(t, src)
	gifData := encodeGIF(t, src)
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"zero bytes", []byte{}, ReasonEmptyObject},
		{"text file", []byte("just some text, not an image\n"), ReasonNotAnImage},
		{"HTML", []byte("<!doctype html><html><body>hi</body></html>"), ReasonNotAnImage},
		{"PDF", []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"), ReasonNotAnImage},
		{"SVG (not a supported format)", []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="100000" height="100000"/>`), ReasonNotAnImage},

		{"JPEG signature only", jpg[:2], ReasonCorruptImage},
		{"JPEG truncated in the header", jpg[:40], ReasonCorruptImage},
		{"JPEG truncated in the scan", jpg[:len(jpg)*3/4], ReasonCorruptImage},
		{"JPEG with zero dimensions", jpegWithDims(t, jpg, 0, 0), ReasonTooManyPixels},
		{"JPEG bomb 65500×65500", jpegWithDims(t, jpg, 65500, 65500), ReasonTooManyPixels},

		{"PNG signature only", pngData[:8], ReasonCorruptImage},
		{"PNG truncated in the header", pngData[:20], ReasonCorruptImage},
		{"PNG truncated in the data", pngData[:len(pngData)/2], ReasonCorruptImage},
		{"PNG with corrupt data", flipMiddle(pngData, 16), ReasonCorruptImage},
		{"PNG bomb 100000×100000", pngHeader(100000, 100000), ReasonTooManyPixels},
		{"PNG bomb 1×2^31-1", pngHeader(1, 1<<31-1), ReasonTooManyPixels},
		{"PNG with zero width", pngHeader(0, 10), ReasonCorruptImage},

		{"GIF signature only", gifData[:6], ReasonCorruptImage},
		{"GIF truncated in the colour table", gifData[:40], ReasonCorruptImage},
		{"GIF truncated in the frame", gifData[:len(gifData)*3/4], ReasonCorruptImage},
		{"GIF with corrupt frame data", flipMiddle(gifData, 16), ReasonCorruptImage},
		{"GIF with no frame", gifHeader(8, 8), ReasonCorruptImage},
		{"GIF bomb 65535×65535", gifHeader(65535, 65535), ReasonTooManyPixels},
		{"GIF with zero dimensions", gifHeader(0, 0), ReasonTooManyPixels},

		{"BMP bomb", bmpHeader(100000, 100000), ReasonTooManyPixels},
		{"TIFF bomb", tiffWithDims(t, encodeTIFF(t, gradient(8, 8)), 65535, 65535), ReasonTooManyPixels},
		{"WebP bomb", webpVP8XHeader(16384, 16384), ReasonTooManyPixels},
		{"WebP header only", webpVP8XHeader(16, 16), ReasonCorruptImage},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			const key = "k.img"
			store := newFakeStore()
			store.add(inBucket, key, tc.data, "")
			store.add(outBucket, key, []byte("previous output"), "")
			h := newTestConverter(t, store, nil)

			assertOutcome(t, h.Handle(context.Background(), testEvent(t, envelope.OpPut, inBucket, key)), tc.want)
			if n := store.puts.Load(); n != 0 {
				t.Errorf("PutObject called %d times", n)
			}
			// Content that cannot be converted has no output: the one derived from the
			// previous content is removed, never overwritten.
			if _, ok := store.get(outBucket, key); ok {
				t.Errorf("the output derived from the previous content is still there")
			}
		})
	}
}

// TestOutputKeyStaysUnderPrefix checks that whatever an input key contains, the handler writes
// and deletes only OutputBucket/OutputPrefix+key: keys are opaque strings, never resolved as
// paths, so "..", "/" and escapes cannot move the output elsewhere.
func TestOutputKeyStaysUnderPrefix(t *testing.T) {
	keys := []string{
		"a.jpg",
		"../a.jpg",
		"../../" + outBucket + "/x.jpg",
		"/abs.jpg",
		"//double.jpg",
		"./a/../b.jpg",
		"%2e%2e%2fa.jpg",
		"..",
		"a\\..\\b.jpg",
		"a\x00b.jpg",
		"\u202e" + "gpj.exe",
		"é/ü/✓.jpg",
		strings.Repeat("k", envelope.MaxKeyLen-len("gray/")),
	}
	for _, prefix := range []string{"", "gray/", "gray"} {
		for _, key := range keys {
			name := prefix + "|" + key
			if len(name) > 40 {
				name = name[:40]
			}
			t.Run(name, func(t *testing.T) {
				store := newFakeStore()
				store.add(inBucket, key, encodePNG(t, gradient(4, 4)), "")
				h := newTestConverter(t, store, func(c *Config) { c.OutputPrefix = prefix })
				out := h.OutputKey(key)
				if out != prefix+key || !strings.HasPrefix(out, prefix) {
					t.Fatalf("OutputKey(%q) = %q, want the prefix %q followed by the key unchanged", key, out, prefix)
				}
				if err := h.Handle(context.Background(), testEvent(t, envelope.OpPut, inBucket, key)); err != nil {
					t.Fatalf("Handle put: %v", err)
				}
				store.mu.Lock()
				var written []string
				for id := range store.objects {
					if id != inBucket+"/"+key {
						written = append(written, id)
					}
				}
				store.mu.Unlock()
				if len(written) != 1 || written[0] != outBucket+"/"+prefix+key {
					t.Fatalf("objects written %q, want only %q", written, outBucket+"/"+prefix+key)
				}
				store.mu.Lock()
				delete(store.objects, inBucket+"/"+key) // the input is deleted
				store.mu.Unlock()
				if err := h.Handle(context.Background(), testEvent(t, envelope.OpDelete, inBucket, key)); err != nil {
					t.Fatalf("Handle delete: %v", err)
				}
				store.mu.Lock()
				left := len(store.objects)
				store.mu.Unlock()
				if left != 0 {
					t.Errorf("delete left %d objects, want none (the output removed, nothing else touched)", left)
				}
			})
		}
	}
}

// TestHandleStoreRefusesKey: a store that refuses the output key as a name (MinIO rejects ".."
// segments, "//" and NUL; S3 keys over 1,024 bytes) fails permanently, so the record is
// dead-lettered at once with reason invalid_key instead of being retried until exhausted.
func TestHandleStoreRefusesKey(t *testing.T) {
	tests := []struct {
		name string
		code string
	}{
		{"dot segments", "XMinioInvalidResourceName"},
		{"unsupported characters", "XMinioInvalidObjectName"},
		{"key too long", "KeyTooLongError"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store := newFakeStore()
			store.add(inBucket, "k.png", encodePNG(t, gradient(4, 4)), "")
			store.putErr = sdkError("PutObject", http.StatusBadRequest, genericErr(tc.code, "refused"))
			h := newTestConverter(t, store, nil)
			assertOutcome(t, h.Handle(context.Background(), testEvent(t, envelope.OpPut, inBucket, "k.png")), ReasonInvalidKey)
		})
	}
}
