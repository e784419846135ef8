package grayscale

import (
	"image"
	"image/color"
	"math/rand/v2"
	"testing"

	"github.com/shardline/shardline/internal/jpegluma/jpegtest"
)

// adversarialInput is one hostile or costly input, with what the handler must do with it at
// the default limits: "" convert it, or the reason it is refused with.
type adversarialInput struct {
	name string
	data []byte
	want string
}

// fillNoise fills pix with random bytes, the same for the same seed.
func fillNoise(pix []byte, seed1, seed2 uint64) {
	r := rand.New(rand.NewPCG(seed1, seed2))
	for i := range pix {
		pix[i] = byte(r.Uint32())
	}
}

// noiseNRGBA64 returns a w×h 16-bit image of random colour and alpha: the most memory per
// pixel image/png allocates and the least compressible output.
func noiseNRGBA64(w, h int) *image.NRGBA64 {
	img := image.NewNRGBA64(image.Rect(0, 0, w, h))
	fillNoise(img.Pix, 1, 2)
	return img
}

// noiseNRGBA returns a w×h 8-bit image of random colour and alpha.
func noiseNRGBA(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	fillNoise(img.Pix, 3, 4)
	return img
}

// noiseRGBA64Opaque returns a w×h opaque 16-bit RGB image of random colours.
func noiseRGBA64Opaque(w, h int) *image.RGBA64 {
	r := rand.New(rand.NewPCG(5, 6))
	img := image.NewRGBA64(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetRGBA64(x, y, color.RGBA64{R: uint16(r.Uint32()), G: uint16(r.Uint32()), B: uint16(r.Uint32()), A: 0xffff})
		}
	}
	return img
}

// hugeTinyJPEG returns a baseline JPEG whose frame claims w×h but whose scan holds a few bytes.
func hugeTinyJPEG(t testing.TB, w, h uint16) []byte {
	t.Helper()
	return jpegWithDims(t, encodeJPEG(t, gradient(16, 16)), w, h)
}

// adversarialCorpus returns inputs that cost the most CPU per input byte or memory per pixel
// the formats allow, scaled by side (the long edge of the large ones), and the handler's
// verdict on each at the default limits.
func adversarialCorpus(t testing.TB, side int) []adversarialInput {
	t.Helper()
	png16 := encodePNG(t, noiseNRGBA64(side/2, side/2))
	return []adversarialInput{
		{"progressive 4:2:0, 300 scans", jpegtest.Progressive{Width: side, Height: side, Sampling: yuv420, Scans: 300}.Build(), ReasonTooComplex},
		{"progressive 4:2:0, 40 scans", jpegtest.Progressive{Width: side, Height: side, Sampling: yuv420, Scans: 40}.Build(), ""},
		{"progressive gray, 16 scans", jpegtest.Progressive{Width: side, Height: side, Sampling: gray1, Scans: 16}.Build(), ""},
		{"progressive CMYK, 60 scans", jpegtest.Progressive{Width: side, Height: side, Sampling: cmyk, Scans: 60}.Build(), ""},
		{"progressive 4:4:4 rotated, 10 scans", jpegtest.Progressive{Width: side, Height: side, Sampling: yuv444, Scans: 10, Orientation: 6}.Build(), ""},
		{"progressive 4:4:4 rotated, 40 scans", jpegtest.Progressive{Width: side, Height: side, Sampling: yuv444, Scans: 40, Orientation: 6}.Build(), ""},
		{"baseline 65500×65500, tiny scan", hugeTinyJPEG(t, 65500, 65500), ReasonTooManyPixels},
		{"baseline 7000×7000, tiny scan", hugeTinyJPEG(t, 7000, 7000), ReasonCorruptImage},
		{"PNG 16-bit RGBA noise", png16, ""},
		{"PNG 16-bit RGBA, truncated", png16[:len(png16)/3], ReasonCorruptImage},
		{"PNG 100000×100000 header only", pngHeader(100000, 100000), ReasonTooManyPixels},
		{"PNG 7000×7000 header only", pngHeader(7000, 7000), ReasonCorruptImage},
	}
}
