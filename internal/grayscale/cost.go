package grayscale

import "math"

// Memory a conversion holds at its peak, beyond its input body, by format and path. The bytes
// per pixel are those of the buffers each decoder allocates (Go's image/jpeg, image/png and
// imaging), of toGray's copy and of the encoded output; TestConversionCostCoversAllocations
// measures every path (runtime.MemStats.TotalAlloc, which also counts garbage, so the figures
// are upper bounds) and fails if an estimate falls below what was allocated. docs/limits.md has
// the table.
const (
	// costFixed covers decoder tables, zlib and Huffman state (a flate compressor is about a
	// megabyte), row buffers and the like.
	costFixed = 2 << 20
	// jpegLumaPerColumn is jpegluma's coefficient band: up to 16 block rows of 64 int16
	// coefficients and a mask, per 8 columns, plus the output's band of Huffman codes.
	jpegLumaPerColumn = 288
	// Output bytes per pixel: an 8-bit gray JPEG is under 1 B/px even for noise, in a
	// bytes.Buffer that doubles as it grows (1.5× the final size). A PNG gets one buffer of its
	// worst size (encodeImage): 4 B/px with alpha plus framing.
	jpegOutPerPixel = 1.5
	pngOutPerPixel  = 4.1
	// Bytes per pixel of imaging's *image.NRGBA for a rotated or flipped image, and of an 8-bit
	// gray copy with or without alpha.
	nrgbaPerPixel, grayPerPixel = 4, 1
)

// conversionCost returns an upper bound on the bytes converting the image described by hdr holds
// beyond its input body of inputLen bytes, and the name of the path it takes (for logs and
// docs): "jpeg_luma" (jpegluma), "jpeg_decode" (image/jpeg), "jpeg_rotate" (imaging), "png", or
// the format name for other formats, which are costed at their worst case.
func conversionCost(hdr imageHeader, inputLen int) (int64, string) {
	px := float64(hdr.Width) * float64(hdr.Height)
	perPixel := func(bpp float64) int64 { return costFixed + int64(math.Ceil(bpp*px)) }
	switch hdr.Format {
	case "jpeg":
		if hdr.orientation <= 1 && hdr.jpeg.jpegluma() {
			// The output buffer is allocated at the input's size; the band is tiny.
			return costFixed + int64(inputLen) + 4096 + jpegLumaPerColumn*int64(hdr.Width), "jpeg_luma"
		}
		if hdr.orientation > 1 {
			return perPixel(jpegDecodePerPixel(&hdr.jpeg) + jpegOutPerPixel + nrgbaPerPixel + grayPerPixel), "jpeg_rotate"
		}
		return jpegFallbackCost(hdr), "jpeg_decode"
	case "png":
		return perPixel(pngPerPixel(hdr.png)), "png"
	case "gif": // *image.Paletted, then a gray copy with alpha and its PNG
		return perPixel(1 + nrgbaPerPixel + pngOutPerPixel), "gif"
	case "bmp", "webp": // at most 8-bit RGBA (lossless WebP, 32-bit BMP)
		return perPixel(4 + nrgbaPerPixel + pngOutPerPixel), hdr.Format
	}
	// TIFF and anything else: up to 16-bit RGBA, whose decoder also reads every strip into a
	// buffer of the uncompressed samples.
	return perPixel(8 + 8 + nrgbaPerPixel + pngOutPerPixel), hdr.Format
}

// jpegFallbackCost is conversionCost's "jpeg_decode" path: the cost of an upright JPEG that
// image/jpeg decodes, for files jpegluma does not take or refuses as malformed.
func jpegFallbackCost(hdr imageHeader) int64 {
	bpp := jpegDecodePerPixel(&hdr.jpeg) + jpegOutPerPixel
	if !hdr.jpeg.lumaPlane() {
		bpp += grayPerPixel // CMYK or RGB: toGray computes luma per pixel
	}
	return costFixed + int64(math.Ceil(bpp*float64(hdr.Width)*float64(hdr.Height)))
}

// jpegDecodePerPixel returns the bytes per pixel image/jpeg allocates for a frame of layout l:
// one byte a sample for its planes (*image.YCbCr or *image.Gray); for 4 components also a black
// plane and the *image.CMYK result, for RGB the *image.RGBA result; and for a progressive frame
// every coefficient of every block as an int32 (4 bytes a sample), kept until the last scan.
func jpegDecodePerPixel(l *jpegLayout) float64 {
	if len(l.comps) == 0 {
		return 4 * (1 + 4) // no frame header seen: the worst case, a progressive CMYK file
	}
	s := l.samplesPerPixel()
	bpp := s
	switch {
	case len(l.comps) == 4:
		bpp += 1 + 4
	case !l.lumaPlane():
		bpp += 4
	}
	if l.progressive() {
		bpp += 4 * s
	}
	// Components are padded to whole MCUs; for small or narrow frames that padding matters.
	mx, my := ceilDiv(l.width, 8*l.hmax)*8*l.hmax, ceilDiv(l.height, 8*l.vmax)*8*l.vmax
	return bpp * float64(mx) * float64(my) / (float64(l.width) * float64(l.height))
}

// lumaPlane reports whether image/jpeg decodes a frame of layout l to an *image.YCbCr or
// *image.Gray, whose luma plane is used as it is.
func (l *jpegLayout) lumaPlane() bool {
	switch len(l.comps) {
	case 1:
		return true
	case 3:
		rgb := l.adobe == 0 || l.adobe < 0 && string([]byte{l.comps[0].id, l.comps[1].id, l.comps[2].id}) == "RGB"
		return !rgb
	}
	return false
}

// pngLayout is what a PNG's IHDR says about its decoding cost.
type pngLayout struct {
	depth, colorType int
	interlaced       bool
}

// parsePNGHeader reads the IHDR of a PNG that image.DecodeConfig accepted.
func parsePNGHeader(data []byte) pngLayout {
	if len(data) < 29 {
		return pngLayout{depth: 16, colorType: 6, interlaced: true} // the worst case
	}
	return pngLayout{depth: int(data[24]), colorType: int(data[25]), interlaced: data[28] != 0}
}

// pngPerPixel returns the bytes per pixel of converting a PNG of layout p: image/png's image
// (4 bytes a pixel at 8 bits, 8 at 16 bits, for gray too since a tRNS chunk makes it NRGBA; 1
// for a palette), a second one as large for an interlaced file (each pass is decoded into its
// own image first), the gray copy (*image.NRGBA, 4 bytes, when any pixel may be transparent)
// and its PNG (at most its raw 4 bytes a pixel and framing).
func pngPerPixel(p pngLayout) float64 {
	decoded := 4.0
	switch {
	case p.colorType == 3:
		decoded = 1
	case p.depth == 16:
		decoded = 8
	}
	if p.interlaced {
		decoded *= 2
	}
	return decoded + nrgbaPerPixel + pngOutPerPixel
}

// imageHeader is what the handler knows about an image before decoding it.
type imageHeader struct {
	imageInfo
	orientation int        // EXIF orientation of a JPEG, 0 when absent
	jpeg        jpegLayout // JPEG only: frame layout; scans as far as the data given
	png         pngLayout  // PNG only
}

// readHeader returns the header of data, which checkImage accepted as info. data may be only a
// prefix of the file: JPEG scans are then counted as far as it goes.
func readHeader(data []byte, info imageInfo) (imageHeader, error) {
	hdr := imageHeader{imageInfo: info}
	switch info.Format {
	case "jpeg":
		l, err := scanJPEG(data)
		if err != nil {
			return imageHeader{}, err
		}
		hdr.jpeg, hdr.orientation = l, jpegOrientation(data)
	case "png":
		hdr.png = parsePNGHeader(data)
	}
	return hdr, nil
}
