//go:build turbojpeg && cgo

package grayscale

import (
	"bytes"
	"context"
	"image"
	"image/jpeg"
	"os"
	"testing"
)

// TestTurboGray checks the libjpeg-turbo lossless transform: its output is a one-component
// JPEG of the input's dimensions whose pixels are close to the pure-Go path's gray.
func TestTurboGray(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		data func(t *testing.T) []byte
	}{
		{name: "generated 4:2:0", data: func(t *testing.T) []byte { return encodeJPEG(t, gradient(123, 77)) }},
		{name: "generated gray", data: func(t *testing.T) []byte {
			var buf bytes.Buffer
			g := image.NewGray(image.Rect(0, 0, 50, 30))
			for i := range g.Pix {
				g.Pix[i] = uint8(i * 7)
			}
			if err := jpeg.Encode(&buf, g, nil); err != nil {
				t.Fatal(err)
			}
			return buf.Bytes()
		}},
		{name: "Garden.jpg", data: func(t *testing.T) []byte { return readPhoto(t, "/usr/share/backgrounds/mate/nature/Garden.jpg") }},
		{name: "Elephants progressive", data: func(t *testing.T) []byte {
			return readPhoto(t, "/usr/share/backgrounds/mate/abstract/Elephants_5640x3172.jpg")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := tc.data(t)
			out, err := turboGray(ctx, data, DefaultMaxPixels)
			if err != nil {
				t.Fatalf("turboGray: %v", err)
			}
			img, err := jpeg.Decode(bytes.NewReader(out))
			if err != nil {
				t.Fatalf("output does not decode: %v", err)
			}
			g, ok := img.(*image.Gray)
			if !ok {
				t.Fatalf("output decodes as %T, want *image.Gray", img)
			}
			cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			if b := g.Bounds(); b.Dx() != cfg.Width || b.Dy() != cfg.Height {
				t.Fatalf("output is %v, input %dx%d", b.Size(), cfg.Width, cfg.Height)
			}
			src, err := decodeJPEG(ctx, data, DefaultMaxPixels)
			if err != nil {
				t.Fatal(err)
			}
			ref, _ := lumaPlane(src)
			if d := meanAbsDiff(t, g, ref); d > 1 {
				t.Errorf("mean abs difference from the pure-Go luma %.3f, want <= 1", d)
			} else {
				t.Logf("mean abs difference from the pure-Go luma %.3f", d)
			}
		})
	}
}

// TestTurboGrayRefuses: inputs the transform cannot handle faithfully fail, so that convertJPEG
// falls back to the pure-Go path (which decides whether they are corrupt).
func TestTurboGrayRefuses(t *testing.T) {
	jpg := encodeJPEG(t, gradient(64, 48))
	tests := []struct {
		name string
		data []byte
	}{
		{name: "truncated in the scan", data: jpg[:len(jpg)*3/4]},
		{name: "not a JPEG", data: encodePNG(t, gradient(8, 8))},
		{name: "signature only", data: jpg[:2]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if out, err := turboGray(context.Background(), tc.data, DefaultMaxPixels); err == nil {
				t.Fatalf("turboGray accepted it (%d bytes out)", len(out))
			}
		})
	}
	t.Run("over maxPixels", func(t *testing.T) {
		if _, err := turboGray(context.Background(), jpg, 64*48-1); err == nil {
			t.Fatal("turboGray accepted an image over maxPixels")
		}
	})
}

func readPhoto(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("photo not available: %v (apt-get install mate-backgrounds)", err)
	}
	return data
}
