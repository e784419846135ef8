package jpegluma

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// lumaOf decodes data with image/jpeg and returns its luma plane.
func lumaOf(t *testing.T, data []byte) *image.Gray {
	t.Helper()
	img, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("image/jpeg decoding: %v", err)
	}
	b := img.Bounds()
	switch m := img.(type) {
	case *image.YCbCr:
		return &image.Gray{Pix: m.Y[m.YOffset(b.Min.X, b.Min.Y):], Stride: m.YStride, Rect: image.Rect(0, 0, b.Dx(), b.Dy())}
	case *image.Gray:
		return m
	}
	t.Fatalf("image/jpeg decoded a %T", img)
	return nil
}

// transcodeOK transcodes data and checks that the output decodes as a one-component JPEG of the
// input's size.
func transcodeOK(t *testing.T, data []byte, opt Options) (out []byte, gray *image.Gray) {
	t.Helper()
	out, err := Transcode(context.Background(), nil, data, opt)
	if err != nil {
		t.Fatalf("Transcode: %v", err)
	}
	g, err := decodeGray(out)
	if err != nil {
		t.Fatal(err)
	}
	return out, g
}

// decodeGray decodes a Transcode output with image/jpeg, which must find a one-component JPEG.
func decodeGray(out []byte) (*image.Gray, error) {
	img, err := jpeg.Decode(bytes.NewReader(out))
	if err != nil {
		return nil, fmt.Errorf("image/jpeg cannot decode the output: %w", err)
	}
	g, ok := img.(*image.Gray)
	if !ok {
		return nil, fmt.Errorf("output decodes to %T, want *image.Gray", img)
	}
	return g, nil
}

// samePixels fails unless a and b have the same size and pixels.
func samePixels(t *testing.T, got, want *image.Gray) {
	t.Helper()
	if got.Rect.Size() != want.Rect.Size() {
		t.Fatalf("size %v, want %v", got.Rect.Size(), want.Rect.Size())
	}
	w, h := want.Rect.Dx(), want.Rect.Dy()
	for y := 0; y < h; y++ {
		g, e := got.Pix[y*got.Stride:y*got.Stride+w], want.Pix[y*want.Stride:y*want.Stride+w]
		if !bytes.Equal(g, e) {
			for x := range g {
				if g[x] != e[x] {
					t.Fatalf("pixel (%d, %d) is %d, want %d", x, y, g[x], e[x])
				}
			}
		}
	}
}

// psnr returns the peak signal-to-noise ratio of got against want, in dB.
func psnr(got, want *image.Gray) float64 {
	var sum float64
	w, h := want.Rect.Dx(), want.Rect.Dy()
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			d := float64(got.Pix[y*got.Stride+x]) - float64(want.Pix[y*want.Stride+x])
			sum += d * d
		}
	}
	if sum == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(255*255/(sum/float64(w*h)))
}

func fixtures(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("testdata/*.jpg")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	return files
}

// sameCoefficients names, for fixtures image/jpeg cannot decode, a file with the same DCT
// coefficients that it can: cjpeg with the same settings but no restart markers.
var sameCoefficients = map[string]string{
	// image/jpeg rejects restart intervals of one block in progressive files.
	"progressive420_restart1block.jpg": "progressive420_q80.jpg",
}

// TestLosslessEqualsLumaPlane: every supported layout (baseline and progressive; 4:2:0, 4:2:2,
// 4:4:4, 1×2 and gray; restart intervals in MCU rows and single blocks; optimised tables; a size
// that is not a multiple of the MCU) transcodes to exactly the input's luma plane.
func TestLosslessEqualsLumaPlane(t *testing.T) {
	for _, file := range fixtures(t) {
		name := filepath.Base(file)
		if name == "arithmetic.jpg" || name == "rgb.jpg" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			ref := data
			if other, ok := sameCoefficients[name]; ok {
				if ref, err = os.ReadFile(filepath.Join("testdata", other)); err != nil {
					t.Fatal(err)
				}
			}
			_, got := transcodeOK(t, data, Options{})
			samePixels(t, got, lumaOf(t, ref))
		})
	}
}

// TestPhotosEqualLumaPlane does the same for the real photos of Debian's mate-backgrounds, when
// installed (make test installs them): large progressive and baseline files.
func TestPhotosEqualLumaPlane(t *testing.T) {
	files, _ := filepath.Glob("/usr/share/backgrounds/mate/*/*.jpg")
	if len(files) == 0 {
		t.Skip("mate-backgrounds is not installed")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if len(data) > 2<<20 && testing.Short() {
				t.Skip("large file in -short mode")
			}
			_, got := transcodeOK(t, data, Options{})
			samePixels(t, got, lumaOf(t, data))
		})
	}
}

// TestQualityCapsQuantisation: a quality below the input's requantises (smaller output, still
// close to the luma), and one above it changes nothing.
func TestQualityCapsQuantisation(t *testing.T) {
	data, err := os.ReadFile("testdata/progressive444_restart.jpg") // quality 97
	if err != nil {
		t.Fatal(err)
	}
	luma := lumaOf(t, data)
	lossless, _ := transcodeOK(t, data, Options{})
	higher, _ := transcodeOK(t, data, Options{Quality: 99})
	if !bytes.Equal(higher, lossless) {
		t.Errorf("quality 99 on a quality-97 input changed the output")
	}
	low, got := transcodeOK(t, data, Options{Quality: 50})
	if len(low) >= len(lossless) {
		t.Errorf("quality 50 output is %d bytes, not smaller than the lossless %d", len(low), len(lossless))
	}
	if p := psnr(got, luma); p < 30 || math.IsInf(p, 1) {
		t.Errorf("quality 50 output has PSNR %.1f dB against the luma, want a finite value ≥ 30", p)
	}
	lowQuant, err := parse(low)
	if err != nil {
		t.Fatal(err)
	}
	if want := qualityTable(50); lowQuant.quant[0] != want[0] {
		t.Errorf("quality 50 output's DC quantiser is %d, want %d", lowQuant.quant[0], want[0])
	}
}

// TestUnsupported: what Transcode does not handle is an *UnsupportedError, for the caller's
// fallback.
func TestUnsupported(t *testing.T) {
	for _, name := range []string{"arithmetic.jpg", "rgb.jpg"} {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			_, err = Transcode(context.Background(), nil, data, Options{})
			var ue *UnsupportedError
			if !errors.As(err, &ue) {
				t.Fatalf("error %v, want *UnsupportedError", err)
			}
		})
	}
	data, err := os.ReadFile("testdata/baseline420.jpg")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Transcode(context.Background(), nil, data, Options{MaxPixels: 1000}); !errors.As(err, new(*LimitError)) {
		t.Errorf("157×101 pixels with MaxPixels 1000: error %v, want *LimitError", err)
	}
}

// TestTruncatedIsFormatError: every strict prefix of a file is rejected with a *FormatError
// (never a panic, never an output made of padding bits).
func TestTruncatedIsFormatError(t *testing.T) {
	for _, name := range []string{"baseline422_restart.jpg", "progressive420_restart1block.jpg"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		for n := 0; n < len(data)-1; n++ { // data minus its last byte still lacks EOI's second byte
			dst := []byte("keep")
			out, err := Transcode(context.Background(), dst, data[:n], Options{})
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("%s cut to %d bytes: error %v, want *FormatError", name, n, err)
			}
			if string(out) != "keep" {
				t.Fatalf("%s cut to %d bytes: dst changed on error", name, n)
			}
		}
	}
}

// TestCorruptEntropyData: bytes flipped inside the entropy-coded data end in an error or an
// output that still decodes, never a panic.
func TestCorruptEntropyData(t *testing.T) {
	for _, file := range fixtures(t) {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parse(data)
		if err != nil {
			continue
		}
		s := f.scans[0]
		for i := s.start; i < s.end; i += 7 {
			bad := bytes.Clone(data)
			bad[i] ^= 0x5A
			out, err := Transcode(context.Background(), nil, bad, Options{})
			if err != nil {
				continue
			}
			if _, err := jpeg.Decode(bytes.NewReader(out)); err != nil {
				t.Fatalf("%s with byte %d flipped: output does not decode: %v", file, i, err)
			}
		}
	}
}

// TestCanceled: a cancelled context stops the transcode with its error.
func TestCanceled(t *testing.T) {
	data, err := os.ReadFile("testdata/progressive420.jpg")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Transcode(ctx, nil, data, Options{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
}

// TestStandardACTableCodesEverySymbol: the Annex K AC table has a code for EOB, ZRL and every
// run/size pair an 8-bit baseline block can need, so the one-pass encoder never lacks a code.
func TestStandardACTableCodesEverySymbol(t *testing.T) {
	for r := 0; r < 16; r++ {
		for s := 1; s <= 10; s++ {
			if acSize[r<<4|s] == 0 {
				t.Errorf("no code for run %d size %d", r, s)
			}
		}
	}
	if acSize[0x00] == 0 || acSize[0xF0] == 0 {
		t.Error("no code for EOB or ZRL")
	}
	for s := 0; s <= 11; s++ {
		if dcSize[s] == 0 {
			t.Errorf("no DC code for size %d", s)
		}
	}
}

// TestRequantiserIsExact: the reciprocal multiply equals integer division rounded half away from
// zero for coefficients and quantiser pairs over the whole range (8- and 16-bit tables).
func TestRequantiserIsExact(t *testing.T) {
	for _, from := range []int{1, 2, 255, 256, 511, 1000, 40000, 65535} {
		for _, to := range []int{from, from + 1, 2 * from, 65535} {
			if to > 65535 {
				continue
			}
			r := newRequantiser(uint16(from), uint16(to))
			for _, c := range []int{-32768, -32767, -20000, -4097, -1, 0, 1, 777, 4097, 20000, 32767} {
				if got, want := r.apply(int16(c)), roundedDiv(c*from, to); int(got) != want {
					t.Fatalf("%d·%d/%d = %d, want %d", c, from, to, got, want)
				}
			}
		}
	}
	for from := 1; from < 256; from += 3 {
		for to := from; to < 256; to += 5 {
			r := newRequantiser(uint16(from), uint16(to))
			for c := -1100; c <= 1100; c++ {
				if got, want := r.apply(int16(c)), roundedDiv(c*from, to); int(got) != want {
					t.Fatalf("%d·%d/%d = %d, want %d", c, from, to, got, want)
				}
			}
		}
	}
}

// roundedDiv is a/b rounded half away from zero (b > 0): what requantising must compute.
func roundedDiv(a, b int) int {
	if a < 0 {
		return -((-a + b/2) / b)
	}
	return (a + b/2) / b
}
