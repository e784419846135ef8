package grayscale

import (
	"bytes"
	"context"
	"encoding/binary"
	"image"
	"image/jpeg"
	"io"
	"testing"
)

// TestConvertJPEG checks the JPEG paths of Convert: upright inputs of every layout image/jpeg
// produces become a one-component JPEG equal to the luma that toGray computes, and a rotated
// input is rotated as before.
func TestConvertJPEG(t *testing.T) {
	ctx := context.Background()
	src := gradient(40, 24)
	grayJPEG := encoded(t, "jpeg", func(w io.Writer) error {
		return jpeg.Encode(w, image.NewGray(image.Rect(0, 0, 40, 24)), &jpeg.Options{Quality: 95})
	})
	tests := []struct {
		name         string
		data         []byte
		wantW, wantH int
	}{
		{name: "YCbCr 4:2:0", data: encodeJPEG(t, src), wantW: 40, wantH: 24},
		{name: "gray", data: grayJPEG, wantW: 40, wantH: 24},
		{name: "EXIF upright", data: withExifOrientation(t, encodeJPEG(t, src), 1, binary.BigEndian), wantW: 40, wantH: 24},
		{name: "EXIF rotated 90", data: withExifOrientation(t, encodeJPEG(t, src), 6, binary.LittleEndian), wantW: 24, wantH: 40},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, ct, err := Convert(ctx, tc.data, 95)
			if err != nil || ct != contentTypeJPEG {
				t.Fatalf("Convert = %q, %v", ct, err)
			}
			img, err := jpeg.Decode(bytes.NewReader(out))
			if err != nil {
				t.Fatalf("output does not decode: %v", err)
			}
			g, ok := img.(*image.Gray)
			if !ok {
				t.Fatalf("output decodes as %T, want a one-component *image.Gray", img)
			}
			if b := g.Bounds(); b.Dx() != tc.wantW || b.Dy() != tc.wantH {
				t.Fatalf("output is %v, want %dx%d", b.Size(), tc.wantW, tc.wantH)
			}
			// The luma is requantised to quality 95; compare with the slow path's gray.
			if jpegOrientation(tc.data) > 1 {
				return
			}
			ref, err := decodeImage(ctx, tc.data, DefaultMaxPixels)
			if err != nil {
				t.Fatal(err)
			}
			refGray, err := toGray(ctx, ref)
			if err != nil {
				t.Fatal(err)
			}
			if d := meanAbsDiff(t, g, refGray.(*image.Gray)); d > 2 {
				t.Errorf("mean abs difference from the slow path's gray %.2f, want <= 2", d)
			}
		})
	}
}

// TestLumaPlaneSharesMemory: the luma plane is the decoder's Y plane, not a copy, and equals
// toGray's result exactly.
func TestLumaPlaneSharesMemory(t *testing.T) {
	img, err := decodeJPEG(context.Background(), encodeJPEG(t, gradient(37, 21)), DefaultMaxPixels)
	if err != nil {
		t.Fatal(err)
	}
	ycc := img.(*image.YCbCr)
	g, ok := lumaPlane(ycc)
	if !ok {
		t.Fatal("lumaPlane refused an *image.YCbCr")
	}
	if &g.Pix[0] != &ycc.Y[0] {
		t.Error("lumaPlane copied the Y plane")
	}
	want, err := toGray(context.Background(), ycc)
	if err != nil {
		t.Fatal(err)
	}
	if d := meanAbsDiff(t, g, want.(*image.Gray)); d != 0 {
		t.Errorf("lumaPlane differs from toGray by %.3f", d)
	}
}

// meanAbsDiff is the mean absolute difference of two equally sized gray images.
func meanAbsDiff(t testing.TB, a, b *image.Gray) float64 {
	t.Helper()
	ab, bb := a.Bounds(), b.Bounds()
	if ab.Size() != bb.Size() {
		t.Fatalf("sizes differ: %v vs %v", ab.Size(), bb.Size())
	}
	var sum int64
	for y := 0; y < ab.Dy(); y++ {
		for x := 0; x < ab.Dx(); x++ {
			d := int64(a.GrayAt(ab.Min.X+x, ab.Min.Y+y).Y) - int64(b.GrayAt(bb.Min.X+x, bb.Min.Y+y).Y)
			sum += max(d, -d)
		}
	}
	return float64(sum) / float64(ab.Dx()*ab.Dy())
}
