package grayscale

import (
	"bytes"
	"context"
	"testing"

	"github.com/shardline/shardline/processor"
)

func TestCheckImage(t *testing.T) {
	src := gradient(64, 48)
	jpg := encodeJPEG(t, src)
	tests := []struct {
		name       string
		data       []byte
		maxPixels  int64
		wantFormat string
		wantReason string
	}{
		{name: "jpeg", data: jpg, maxPixels: DefaultMaxPixels, wantFormat: "jpeg"},
		{name: "png", data: encodePNG(t, src), maxPixels: DefaultMaxPixels, wantFormat: "png"},
		{name: "gif", data: encodeGIF(t, src), maxPixels: DefaultMaxPixels, wantFormat: "gif"},
		{name: "bmp", data: encodeBMP(t, src), maxPixels: DefaultMaxPixels, wantFormat: "bmp"},
		{name: "tiff", data: encodeTIFF(t, src), maxPixels: DefaultMaxPixels, wantFormat: "tiff"},
		{name: "webp header", data: webpVP8XHeader(640, 480), maxPixels: DefaultMaxPixels, wantFormat: "webp"},
		{name: "bmp bomb", data: bmpHeader(100000, 100000), maxPixels: DefaultMaxPixels, wantReason: ReasonTooManyPixels},
		{name: "tiff bomb", data: tiffWithDims(t, encodeTIFF(t, src), 65535, 65535), maxPixels: DefaultMaxPixels, wantReason: ReasonTooManyPixels},
		{name: "webp bomb", data: webpVP8XHeader(16384, 16384), maxPixels: DefaultMaxPixels, wantReason: ReasonTooManyPixels},
		{name: "exact limit", data: jpg, maxPixels: 64 * 48, wantFormat: "jpeg"},
		{name: "one over", data: jpg, maxPixels: 64*48 - 1, wantReason: ReasonTooManyPixels},
		{name: "bomb", data: pngHeader(100000, 100000), maxPixels: DefaultMaxPixels, wantReason: ReasonTooManyPixels},
		{name: "huge limit does not overflow", data: pngHeader(1<<29, 1<<29), maxPixels: 1<<63 - 1, wantFormat: "png"},
		{name: "huge image one over a huge limit", data: pngHeader(1<<29, 1<<29), maxPixels: 1<<58 - 1, wantReason: ReasonTooManyPixels},
		{name: "zero gif", data: gifHeader(0, 0), maxPixels: DefaultMaxPixels, wantReason: ReasonTooManyPixels},
		{name: "zero width gif", data: gifHeader(0, 10), maxPixels: DefaultMaxPixels, wantReason: ReasonTooManyPixels},
		{name: "text", data: []byte("hello"), maxPixels: DefaultMaxPixels, wantReason: ReasonNotAnImage},
		{name: "empty", data: nil, maxPixels: DefaultMaxPixels, wantReason: ReasonNotAnImage},
		{name: "jpeg signature only", data: jpg[:3], maxPixels: DefaultMaxPixels, wantReason: ReasonCorruptImage},
		{name: "png signature only", data: []byte("\x89PNG\r\n\x1a\n"), maxPixels: DefaultMaxPixels, wantReason: ReasonCorruptImage},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			info, err := checkImage(tc.data, tc.maxPixels)
			if tc.wantReason != "" {
				if got := processor.ReasonOf(err); got != tc.wantReason {
					t.Fatalf("checkImage: %v (reason %q), want %q", err, got, tc.wantReason)
				}
				return
			}
			if err != nil {
				t.Fatalf("checkImage: %v", err)
			}
			if info.Format != tc.wantFormat {
				t.Errorf("format %q, want %q", info.Format, tc.wantFormat)
			}
		})
	}
}

// fuzzMaxPixels keeps images that the fuzz target decodes small.
const fuzzMaxPixels = 1 << 16

// FuzzImageCheck feeds arbitrary bytes to checkImage: it must never panic, and an accepted input
// must declare a non-empty size within the pixel limit. Accepted inputs are also decoded and
// converted, which must not panic and must stay within the limit.
func FuzzImageCheck(f *testing.F) {
	src := gradient(64, 48)
	jpg := encodeJPEG(f, src)
	for _, seed := range [][]byte{
		jpg,
		jpg[:len(jpg)/2],
		encodePNG(f, src),
		encodePNG(f, translucentGradient(16, 16)),
		encodeGIF(f, src),
		encodeBMP(f, src),
		encodeTIFF(f, gradient(8, 8)),
		webpVP8XHeader(16, 16),
		pngHeader(100000, 100000),
		bmpHeader(100000, 100000),
		webpVP8XHeader(16384, 16384),
		pngHeader(1, 1),
		gifHeader(0, 0),
		[]byte("hello"),
		{},
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := checkImage(data, fuzzMaxPixels)
		if err != nil {
			if processor.ReasonOf(err) == "" {
				t.Fatalf("checkImage returned a non-permanent error: %v", err)
			}
			return
		}
		if info.Width <= 0 || info.Height <= 0 || int64(info.Width)*int64(info.Height) > fuzzMaxPixels {
			t.Fatalf("accepted %s %d×%d, limit %d", info.Format, info.Width, info.Height, fuzzMaxPixels)
		}
		img, err := decodeImage(context.Background(), bytes.Clone(data), fuzzMaxPixels)
		if err != nil {
			if processor.ReasonOf(err) != ReasonCorruptImage {
				t.Fatalf("decodeImage: %v, want corrupt_image", err)
			}
			return
		}
		if sz := img.Bounds().Size(); int64(sz.X)*int64(sz.Y) > fuzzMaxPixels {
			t.Fatalf("decoded %v, limit %d", sz, fuzzMaxPixels)
		}
		if _, err := toGray(context.Background(), img); err != nil {
			t.Fatalf("toGray: %v", err)
		}
	})
}

// panickyReader simulates a decoder bug: the panic happens inside the decoder's call stack.
type panickyReader struct{}

func (panickyReader) Read([]byte) (int, error) { panic("decoder bug") }

func TestSafeDecodeRecoversPanics(t *testing.T) {
	img, err := safeDecode(panickyReader{})
	if err == nil || img != nil {
		t.Fatalf("safeDecode = %v, %v; want an error", img, err)
	}
}
