package jpegluma

import (
	"bytes"
	"context"
	"errors"
	"image/jpeg"
	"testing"

	"github.com/shardline/shardline/internal/jpegluma/jpegtest"
)

// FuzzTranscode feeds arbitrary bytes to Transcode: it must never panic, fail only with an
// *UnsupportedError, *FormatError or *LimitError, and every output must be a grayscale JPEG of the size the
// input declares that image/jpeg decodes.
func FuzzTranscode(f *testing.F) {
	for _, data := range jpegtest.Files(f, "testdata/*.jpg") {
		f.Add(data)
		f.Add(data[:len(data)*2/3])
	}
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xD9})
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := Transcode(context.Background(), nil, data, Options{MaxPixels: 1 << 16, Quality: 75})
		if err != nil {
			var ue *UnsupportedError
			var fe *FormatError
			var le *LimitError
			if !errors.As(err, &ue) && !errors.As(err, &fe) && !errors.As(err, &le) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
		if err != nil {
			return // image/jpeg reads headers more strictly; nothing to compare with
		}
		g, err := decodeGray(out)
		if err != nil {
			t.Fatal(err)
		}
		if g.Rect.Dx() != cfg.Width || g.Rect.Dy() != cfg.Height {
			t.Fatalf("output is %v, input declares %d×%d", g.Rect.Size(), cfg.Width, cfg.Height)
		}
	})
}
