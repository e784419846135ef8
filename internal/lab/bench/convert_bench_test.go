package bench

import (
	"bytes"
	"context"
	"image"
	"os"
	"testing"

	"github.com/shardline/shardline/internal/grayscale"
)

// convertBenchPhotos are real photos of Debian's mate-backgrounds: JPEGs of two sizes, an opaque
// RGB PNG and a PNG with transparency.
var convertBenchPhotos = []struct{ name, path string }{
	{"jpeg_2560x1600", "/usr/share/backgrounds/mate/nature/Garden.jpg"},
	{"jpeg_5640x3172", "/usr/share/backgrounds/mate/abstract/Elephants_5640x3172.jpg"},
	{"png_rgb_1920x1280", "/usr/share/backgrounds/mate/desktop/Ubuntu-Mate-Cold-no-logo.png"},
	{"png_rgba_1920x1200", "/usr/share/backgrounds/mate/abstract/Gulp.png"},
}

// BenchmarkConvert compares grayscale.Convert ("ours") with the straightforward imaging path
// (the image section's baseline) on the same photos. MB/s is input bytes; Mpx/s is input pixels.
func BenchmarkConvert(b *testing.B) {
	ctx := context.Background()
	paths := []struct {
		name string
		run  func(data []byte) error
	}{
		{"ours", func(data []byte) error {
			_, _, err := grayscale.Convert(ctx, data, grayscale.DefaultJPEGQuality)
			return err
		}},
		{"imaging", func(data []byte) error { _, err := straightforward(data, grayscale.DefaultJPEGQuality); return err }},
	}
	for _, p := range convertBenchPhotos {
		data, err := os.ReadFile(p.path)
		if err != nil {
			b.Logf("skipping %s: %v (apt-get install mate-backgrounds)", p.name, err)
			continue
		}
		cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		pixels := float64(cfg.Width * cfg.Height)
		for _, path := range paths {
			b.Run(p.name+"/"+path.name, func(b *testing.B) {
				b.SetBytes(int64(len(data)))
				b.ReportAllocs()
				for b.Loop() {
					if err := path.run(data); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(pixels*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mpx/s")
			})
		}
	}
}
