package grayscale

import (
	"context"
	"image"
	"image/color"
)

// ctxCheckRows is how many rows toGray converts between checks of ctx.
const ctxCheckRows = 64

// toGray returns a grayscale copy of img with its origin at (0, 0). An opaque image becomes an
// *image.Gray; an image with transparency becomes an *image.NRGBA with R == G == B and its alpha
// kept, so transparent areas stay transparent instead of turning black. Luma follows
// color.GrayModel (ITU-R BT.601 weights); for JPEG's *image.YCbCr it is the Y plane itself.
// It returns ctx's error if ctx ends during the conversion.
func toGray(ctx context.Context, img image.Image) (image.Image, error) {
	if o, ok := img.(interface{ Opaque() bool }); ok && o.Opaque() {
		return toGrayOpaque(ctx, img)
	}
	return toGrayAlpha(ctx, img)
}

func toGrayOpaque(ctx context.Context, img image.Image) (*image.Gray, error) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	dst := image.NewGray(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		if y%ctxCheckRows == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		row := dst.Pix[y*dst.Stride : y*dst.Stride+w]
		sy := b.Min.Y + y
		switch src := img.(type) {
		case *image.YCbCr:
			i := src.YOffset(b.Min.X, sy)
			copy(row, src.Y[i:i+w])
		case *image.Gray:
			i := src.PixOffset(b.Min.X, sy)
			copy(row, src.Pix[i:i+w])
		case *image.NRGBA: // opaque, so straight and premultiplied colours are equal
			grayRow8(row, src.Pix[src.PixOffset(b.Min.X, sy):])
		case *image.RGBA:
			grayRow8(row, src.Pix[src.PixOffset(b.Min.X, sy):])
		default:
			for x := range row {
				row[x] = color.GrayModel.Convert(img.At(b.Min.X+x, sy)).(color.Gray).Y
			}
		}
	}
	return dst, nil
}

func toGrayAlpha(ctx context.Context, img image.Image) (*image.NRGBA, error) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	dst := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		if y%ctxCheckRows == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		row := dst.Pix[y*dst.Stride : y*dst.Stride+4*w]
		sy := b.Min.Y + y
		src, isNRGBA := img.(*image.NRGBA)
		for x := 0; x < w; x++ {
			var c color.NRGBA
			if isNRGBA {
				i := src.PixOffset(b.Min.X+x, sy)
				c = color.NRGBA{R: src.Pix[i], G: src.Pix[i+1], B: src.Pix[i+2], A: src.Pix[i+3]}
			} else {
				c = color.NRGBAModel.Convert(img.At(b.Min.X+x, sy)).(color.NRGBA)
			}
			l := luma8(c.R, c.G, c.B)
			p := row[4*x : 4*x+4 : 4*x+4]
			p[0], p[1], p[2], p[3] = l, l, l, c.A
		}
	}
	return dst, nil
}

// grayRow8 writes the luma of the 8-bit RGBA/NRGBA pixels in src (alpha ignored) into dst.
func grayRow8(dst, src []byte) {
	for x := range dst {
		s := src[4*x : 4*x+3 : 4*x+3]
		dst[x] = luma8(s[0], s[1], s[2])
	}
}

// luma8 is color.GrayModel's luma of an 8-bit colour, computed on the same 16-bit scale so that
// the result is identical.
func luma8(r, g, b uint8) uint8 {
	r16, g16, b16 := uint32(r)*0x101, uint32(g)*0x101, uint32(b)*0x101
	return uint8((19595*r16 + 38470*g16 + 7471*b16 + 1<<15) >> 24)
}
