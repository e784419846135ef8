package grayscale

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"

	"github.com/shardline/shardline/processor"
)

func TestConvert(t *testing.T) {
	src := image.NewNRGBA(image.Rect(0, 0, 32, 16))
	for y := range 16 {
		for x := range 32 {
			src.SetNRGBA(x, y, color.NRGBA{R: uint8(8 * x), G: 200, B: uint8(16 * y), A: uint8(128 + 8*y)})
		}
	}
	var jpg, pngData bytes.Buffer
	if err := jpeg.Encode(&jpg, src, nil); err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(&pngData, src); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		data       []byte
		quality    int
		wantType   string
		wantReason string
	}{
		{name: "jpeg stays jpeg", data: jpg.Bytes(), quality: 75, wantType: contentTypeJPEG},
		{name: "zero quality is the default", data: jpg.Bytes(), wantType: contentTypeJPEG},
		{name: "png keeps alpha", data: pngData.Bytes(), wantType: contentTypePNG},
		{name: "not an image", data: []byte("hello"), wantReason: ReasonNotAnImage},
		{name: "truncated jpeg", data: jpg.Bytes()[:len(jpg.Bytes())/2], wantReason: ReasonCorruptImage},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, ct, err := Convert(context.Background(), tc.data, tc.quality)
			if tc.wantReason != "" {
				if !errors.Is(err, processor.ErrPermanent) || processor.ReasonOf(err) != tc.wantReason {
					t.Fatalf("err = %v (reason %q), want permanent %q", err, processor.ReasonOf(err), tc.wantReason)
				}
				return
			}
			if err != nil || ct != tc.wantType {
				t.Fatalf("Convert = %q, %v; want %q", ct, err, tc.wantType)
			}
			img, _, err := image.Decode(bytes.NewReader(out))
			if err != nil {
				t.Fatalf("output does not decode: %v", err)
			}
			if img.Bounds().Size() != src.Bounds().Size() {
				t.Fatalf("output is %v, want %v", img.Bounds().Size(), src.Bounds().Size())
			}
			switch g := img.(type) {
			case *image.Gray:
			case *image.NRGBA:
				for i := 0; i < len(g.Pix); i += 4 {
					if g.Pix[i] != g.Pix[i+1] || g.Pix[i] != g.Pix[i+2] {
						t.Fatalf("pixel %d is not gray: %v", i/4, g.Pix[i:i+4])
					}
				}
				if g.Pix[3] == 255 {
					t.Fatal("alpha was dropped")
				}
			default:
				t.Fatalf("output decodes as %T, want gray", img)
			}
		})
	}
}

func TestConvertHonoursContext(t *testing.T) {
	var jpg bytes.Buffer
	if err := jpeg.Encode(&jpg, image.NewGray(image.Rect(0, 0, 256, 256)), nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := Convert(ctx, jpg.Bytes(), 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("Convert on a cancelled context: %v", err)
	}
}
