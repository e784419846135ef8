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
	at := rgbaAt(img)
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
				r, g, b, _ := at(b.Min.X+x, sy)
				row[x] = luma16(r, g, b)
			}
		}
	}
	return dst, nil
}

func toGrayAlpha(ctx context.Context, img image.Image) (*image.NRGBA, error) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	dst := image.NewNRGBA(image.Rect(0, 0, w, h))
	src, isNRGBA := img.(*image.NRGBA)
	at := rgbaAt(img)
	for y := 0; y < h; y++ {
		if y%ctxCheckRows == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		row := dst.Pix[y*dst.Stride : y*dst.Stride+4*w]
		sy := b.Min.Y + y
		for x := 0; x < w; x++ {
			var c color.NRGBA
			if isNRGBA {
				i := src.PixOffset(b.Min.X+x, sy)
				c = color.NRGBA{R: src.Pix[i], G: src.Pix[i+1], B: src.Pix[i+2], A: src.Pix[i+3]}
			} else {
				c = nrgba(at(b.Min.X+x, sy))
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

// rgbaAt returns a function giving img's colour at (x, y) as color.Color's RGBA does. For the
// image types the decoders return it calls the concrete type's At method, which, unlike
// img.At, allocates nothing: a 50-megapixel 16-bit PNG or CMYK JPEG would otherwise cost 50
// million allocations and over a minute of CPU.
func rgbaAt(img image.Image) func(x, y int) (r, g, b, a uint32) {
	switch src := img.(type) {
	case *image.NRGBA64:
		return func(x, y int) (r, g, b, a uint32) { return src.NRGBA64At(x, y).RGBA() }
	case *image.RGBA64:
		return func(x, y int) (r, g, b, a uint32) { return src.RGBA64At(x, y).RGBA() }
	case *image.RGBA:
		return func(x, y int) (r, g, b, a uint32) { return src.RGBAAt(x, y).RGBA() }
	case *image.NRGBA:
		return func(x, y int) (r, g, b, a uint32) { return src.NRGBAAt(x, y).RGBA() }
	case *image.Gray16:
		return func(x, y int) (r, g, b, a uint32) { return src.Gray16At(x, y).RGBA() }
	case *image.Gray:
		return func(x, y int) (r, g, b, a uint32) { return src.GrayAt(x, y).RGBA() }
	case *image.CMYK:
		return func(x, y int) (r, g, b, a uint32) { return src.CMYKAt(x, y).RGBA() }
	case *image.YCbCr:
		return func(x, y int) (r, g, b, a uint32) { return src.YCbCrAt(x, y).RGBA() }
	case *image.NYCbCrA:
		return func(x, y int) (r, g, b, a uint32) { return src.NYCbCrAAt(x, y).RGBA() }
	case *image.Paletted:
		return func(x, y int) (r, g, b, a uint32) {
			if len(src.Palette) == 0 {
				return 0, 0, 0, 0
			}
			i := int(src.ColorIndexAt(x, y))
			if i >= len(src.Palette) {
				return src.At(x, y).RGBA() // out of the palette: as image.Paletted answers
			}
			return src.Palette[i].RGBA()
		}
	}
	return func(x, y int) (r, g, b, a uint32) { return img.At(x, y).RGBA() }
}

// luma16 is color.GrayModel's luma of a 16-bit (premultiplied) colour.
func luma16(r, g, b uint32) uint8 {
	return uint8((19595*r + 38470*g + 7471*b + 1<<15) >> 24)
}

// nrgba is color.NRGBAModel's conversion of a colour given as color.Color's RGBA returns it.
func nrgba(r, g, b, a uint32) color.NRGBA {
	switch a {
	case 0xffff:
		return color.NRGBA{R: uint8(r >> 8), G: uint8(g >> 8), B: uint8(b >> 8), A: 0xff}
	case 0:
		return color.NRGBA{}
	}
	r, g, b = r*0xffff/a, g*0xffff/a, b*0xffff/a
	return color.NRGBA{R: uint8(r >> 8), G: uint8(g >> 8), B: uint8(b >> 8), A: uint8(a >> 8)}
}
