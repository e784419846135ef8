package jpegluma

import (
	"context"
	"os"
	"testing"
)

// BenchmarkTranscode measures Transcode on real photos (Debian's mate-backgrounds): a baseline
// 4:2:0 file and a large progressive one, at the handler's default quality (90).
func BenchmarkTranscode(b *testing.B) {
	for _, tc := range []struct{ name, file string }{
		{"baseline_2560x1600", "/usr/share/backgrounds/mate/nature/Garden.jpg"},
		{"progressive_3840x2160", "/usr/share/backgrounds/mate/abstract/Elephants_3840x2160.jpg"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			data, err := os.ReadFile(tc.file)
			if err != nil {
				b.Skipf("photo not installed: %v", err)
			}
			f, err := parse(data)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(f.width * f.height)) // MB/s reads as megapixels/s
			b.ReportAllocs()
			dst := make([]byte, 0, len(data)+4096)
			for b.Loop() {
				if _, err := Transcode(context.Background(), dst, data, Options{Quality: 90}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
