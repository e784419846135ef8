package grayscale

import (
	"context"
	"image"
	"image/color"
	"image/draw"
	"testing"
)

// TestToGray covers each image type toGray handles specially and the generic paths, including
// images whose bounds do not start at (0, 0).
func TestToGray(t *testing.T) {
	nrgba := gradient(17, 9)
	ycbcr := image.NewYCbCr(image.Rect(0, 0, 17, 9), image.YCbCrSubsampleRatio420)
	for i := range ycbcr.Y {
		ycbcr.Y[i] = uint8(i * 7)
	}
	for i := range ycbcr.Cb {
		ycbcr.Cb[i], ycbcr.Cr[i] = uint8(i*13), uint8(255-i*5)
	}
	rgba := image.NewRGBA(nrgba.Bounds())
	draw.Draw(rgba, rgba.Bounds(), nrgba, image.Point{}, draw.Src)
	gray := image.NewGray(nrgba.Bounds())
	draw.Draw(gray, gray.Bounds(), nrgba, image.Point{}, draw.Src)
	cmyk := image.NewCMYK(nrgba.Bounds())
	draw.Draw(cmyk, cmyk.Bounds(), nrgba, image.Point{}, draw.Src)
	pal := image.NewPaletted(nrgba.Bounds(), color.Palette{color.NRGBA{255, 0, 0, 255}, color.NRGBA{0, 0, 255, 0}, color.NRGBA{10, 200, 30, 128}})
	for i := range pal.Pix {
		pal.Pix[i] = uint8(i % 3)
	}
	rgbaAlpha := image.NewRGBA(nrgba.Bounds())
	draw.Draw(rgbaAlpha, rgbaAlpha.Bounds(), translucentGradient(17, 9), image.Point{}, draw.Src)

	tests := []struct {
		name      string
		img       image.Image
		wantAlpha bool
	}{
		{name: "nrgba", img: nrgba},
		{name: "nrgba sub-image", img: nrgba.SubImage(image.Rect(3, 2, 15, 8))},
		{name: "ycbcr", img: ycbcr},
		{name: "ycbcr sub-image", img: ycbcr.SubImage(image.Rect(1, 1, 16, 7))},
		{name: "rgba", img: rgba},
		{name: "gray", img: gray.SubImage(image.Rect(2, 2, 9, 9))},
		{name: "cmyk (generic opaque)", img: cmyk},
		{name: "translucent nrgba", img: translucentGradient(17, 9), wantAlpha: true},
		{name: "translucent rgba (premultiplied)", img: rgbaAlpha, wantAlpha: true},
		{name: "paletted with transparency", img: pal, wantAlpha: true},
		{name: "16-bit translucent nrgba", img: noiseNRGBA64(17, 9), wantAlpha: true},
		{name: "16-bit opaque rgba", img: noiseRGBA64Opaque(17, 9)},
		{name: "16-bit gray", img: gray16(17, 9)},
		{name: "nycbcra", img: nycbcra(17, 9), wantAlpha: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := toGray(context.Background(), tc.img)
			if err != nil {
				t.Fatalf("toGray: %v", err)
			}
			b := tc.img.Bounds()
			if got.Bounds() != image.Rect(0, 0, b.Dx(), b.Dy()) {
				t.Fatalf("bounds %v, want %v at origin", got.Bounds(), b.Size())
			}
			if _, isGray := got.(*image.Gray); isGray == tc.wantAlpha {
				t.Fatalf("got %T, wantAlpha %v", got, tc.wantAlpha)
			}
			for y := 0; y < b.Dy(); y++ {
				for x := 0; x < b.Dx(); x++ {
					in := color.NRGBAModel.Convert(tc.img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
					out := color.NRGBAModel.Convert(got.At(x, y)).(color.NRGBA)
					if out.R != out.G || out.G != out.B {
						t.Fatalf("(%d,%d) = %v is not gray", x, y, out)
					}
					// Opaque images follow color.GrayModel (JPEG's YCbCr: its Y plane); images
					// with alpha use the luma of the straight (non-premultiplied) colour.
					want := luma8(in.R, in.G, in.B)
					if !tc.wantAlpha {
						want = color.GrayModel.Convert(tc.img.At(b.Min.X+x, b.Min.Y+y)).(color.Gray).Y
					}
					if yc, isYCbCr := tc.img.(*image.YCbCr); isYCbCr {
						want = yc.YCbCrAt(b.Min.X+x, b.Min.Y+y).Y
					}
					if in.A == 0 {
						want = out.R // colour of a fully transparent pixel is irrelevant
					}
					if out.R != want || out.A != in.A {
						t.Fatalf("(%d,%d) = %v from %v, want luma %d alpha %d", x, y, out, in, want, in.A)
					}
				}
			}
		})
	}
}

func gray16(w, h int) *image.Gray16 {
	img := image.NewGray16(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 37)
	}
	return img
}

func nycbcra(w, h int) *image.NYCbCrA {
	img := image.NewNYCbCrA(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio444)
	for i := range img.Y {
		img.Y[i], img.Cb[i], img.Cr[i], img.A[i] = uint8(i*7), uint8(i*13), uint8(255-i*5), uint8(i*29)
	}
	return img
}

// TestToGrayAllocatesPerImage: toGray's allocations do not grow with the pixels for the image
// types the decoders return (img.At would allocate for every pixel: a CPU bomb at 50 MP).
func TestToGrayAllocatesPerImage(t *testing.T) {
	for _, img := range []image.Image{noiseNRGBA64(64, 64), noiseRGBA64Opaque(64, 64), gray16(64, 64), nycbcra(64, 64), image.NewCMYK(image.Rect(0, 0, 64, 64))} {
		allocs := testing.AllocsPerRun(3, func() {
			if _, err := toGray(context.Background(), img); err != nil {
				t.Fatal(err)
			}
		})
		if allocs > 20 {
			t.Errorf("%T: %.0f allocations for 4096 pixels, want a few per image", img, allocs)
		}
	}
}

func TestLuma8MatchesGrayModel(t *testing.T) {
	for _, c := range []color.NRGBA{{0, 0, 0, 255}, {255, 255, 255, 255}, {255, 0, 0, 255}, {0, 255, 0, 255}, {0, 0, 255, 255}, {12, 200, 77, 255}, {128, 128, 128, 255}} {
		want := color.GrayModel.Convert(c).(color.Gray).Y
		if got := luma8(c.R, c.G, c.B); got != want {
			t.Errorf("luma8(%v) = %d, want %d", c, got, want)
		}
	}
}
