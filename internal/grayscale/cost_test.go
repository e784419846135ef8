package grayscale

import (
	"context"
	"encoding/binary"
	"image"
	"runtime"
	"testing"

	"github.com/shardline/shardline/internal/jpegluma/jpegtest"
)

// TestConversionCostCoversAllocations measures what converting an image of each format and path
// allocates (runtime.MemStats.TotalAlloc, an upper bound on what it holds at once) and fails if
// conversionCost, which the memory budget reserves, is below it. The bytes per pixel it logs
// (-v) are the table in docs/limits.md. Under -race it runs itself in a binary built without. Images are 1024×1024 (512×512 for 16-bit PNGs) of noise
// where the content matters (PNG outputs), so outputs are as large as they get.
func TestConversionCostCoversAllocations(t *testing.T) {
	if testing.Short() {
		t.Skip("encodes and decodes megapixel images")
	}
	if raceEnabled {
		// Under -race, sync.Pool drops items at random (flate, png), so allocations are not
		// those of production: measure in a binary built without it.
		out, err := runWithoutRace(t, "^TestConversionCostCoversAllocations$")
		t.Logf("without -race:\n%s", out)
		if err != nil {
			t.Fatalf("without -race: %v", err)
		}
		return
	}
	const side = 1024
	tests := []struct {
		name     string
		data     []byte
		wantPath string
	}{
		{"JPEG baseline 4:2:0 upright", encodeJPEG(t, noiseNRGBA(side, side)), "jpeg_luma"},
		{"JPEG progressive 4:4:4 upright", jpegtest.Progressive{Width: side, Height: side, Sampling: yuv444, Scans: 10}.Build(), "jpeg_luma"},
		{"JPEG baseline 4:2:0 rotated", withExifOrientation(t, encodeJPEG(t, noiseNRGBA(side, side)), 6, binary.BigEndian), "jpeg_rotate"},
		{"JPEG progressive 4:4:4 rotated", jpegtest.Progressive{Width: side, Height: side, Sampling: yuv444, Scans: 10, Orientation: 6}.Build(), "jpeg_rotate"},
		{"JPEG progressive 4:2:0 rotated", jpegtest.Progressive{Width: side, Height: side, Sampling: yuv420, Scans: 10, Orientation: 8}.Build(), "jpeg_rotate"},
		{"JPEG progressive CMYK", jpegtest.Progressive{Width: side, Height: side, Sampling: cmyk, Scans: 10}.Build(), "jpeg_decode"},
		{"PNG 8-bit gray", encodePNG(t, gray8Noise(side, side)), "png"},
		{"PNG 8-bit RGBA noise", encodePNG(t, noiseNRGBA(side, side)), "png"},
		{"PNG 16-bit RGB noise", encodePNG(t, noiseRGBA64Opaque(side/2, side/2)), "png"},
		{"PNG 16-bit RGBA noise", encodePNG(t, noiseNRGBA64(side/2, side/2)), "png"},
		{"GIF", encodeGIF(t, noiseNRGBA(side, side)), "gif"},
		{"BMP", encodeBMP(t, noiseNRGBA(side, side)), "bmp"},
		{"TIFF 16-bit RGBA", encodeTIFF(t, noiseNRGBA64(side/2, side/2)), "tiff"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			info, err := checkImage(tc.data, DefaultMaxPixels)
			if err != nil {
				t.Fatal(err)
			}
			hdr, err := readHeader(tc.data, info)
			if err != nil {
				t.Fatal(err)
			}
			cost, path := conversionCost(hdr, len(tc.data))
			if path != tc.wantPath {
				t.Fatalf("path %q, want %q", path, tc.wantPath)
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			if _, _, err := convertData(context.Background(), tc.data, hdr, conversion{maxPixels: DefaultMaxPixels, quality: DefaultJPEGQuality}); err != nil {
				t.Fatal(err)
			}
			runtime.ReadMemStats(&after)
			alloc := int64(after.TotalAlloc - before.TotalAlloc)
			px := float64(info.Width * info.Height)
			t.Logf("%-32s %-11s allocated %5.2f B/px, reserved %5.2f B/px (%d×%d, input %d bytes)",
				tc.name, path, float64(alloc)/px, float64(cost)/px, info.Width, info.Height, len(tc.data))
			if alloc > cost {
				t.Errorf("allocated %d bytes (%.2f B/px), more than the %d bytes (%.2f B/px) conversionCost reserves",
					alloc, float64(alloc)/px, cost, float64(cost)/px)
			}
		})
	}
}

func gray8Noise(w, h int) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, w, h))
	copy(img.Pix, noiseNRGBA(w, h).Pix)
	return img
}
