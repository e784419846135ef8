package grayscale

import (
	"context"
	"errors"
	"fmt"
	"image"

	"github.com/shardline/shardline/internal/jpegluma"
	"github.com/shardline/shardline/processor"
)

// conversion is how convertData converts: the limits and quality it applies, and a hook.
type conversion struct {
	maxPixels int64
	quality   int
	// beforeFallback, when set, runs before an upright JPEG that jpegluma did not take is
	// decoded by image/jpeg; its error is returned as is. The Converter grows its memory
	// reservation there, tests count fallbacks.
	beforeFallback func(ctx context.Context) error
	// onDecoder, when set, is told which decoder starts: "jpegluma", "image/jpeg" or
	// "imaging". A test hook.
	onDecoder func(name string)
}

func (c conversion) decoder(name string) {
	if c.onDecoder != nil {
		c.onDecoder(name)
	}
}

// convertData turns data, whose header readHeader read as hdr from all of data, into the encoded
// grayscale output and its content type. Errors are those of decodeImage, toGray and
// encodeImage, and a permanent ReasonTooComplex for a JPEG over the scan limits, which readHeader
// found (scanJPEG) or jpegluma did.
//
// JPEGs whose EXIF orientation needs no transform take the fast path (convertJPEG); every other
// input is decoded by imaging (with EXIF orientation applied), converted by toGray and encoded.
// ctx is checked between the stages, and by every stage as it reads or writes.
func convertData(ctx context.Context, data []byte, hdr imageHeader, c conversion) ([]byte, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	if hdr.Format == "jpeg" && hdr.orientation <= 1 {
		return convertJPEG(ctx, data, c)
	}
	c.decoder("imaging")
	img, err := decodeImage(ctx, data, c.maxPixels)
	if err != nil {
		return nil, "", err
	}
	gray, err := toGray(ctx, img)
	if err != nil {
		return nil, "", fmt.Errorf("converting: %w", err)
	}
	return encodeImage(ctx, gray, hdr.Format, c.quality)
}

// convertJPEG converts an upright JPEG. jpegluma re-encodes the input's luma DCT coefficients as
// a grayscale JPEG without decoding a pixel, requantised to quality where the input is finer.
// Files jpegluma does not take (CMYK, RGB, arithmetic coding, …) or finds malformed go to
// image/jpeg, which decodes data and whose luma plane (or per-pixel luma for other colour
// spaces) is encoded at quality; image/jpeg also decides whether a malformed file is corrupt.
// A file jpegluma refuses for its cost (*jpegluma.LimitError) is refused, never decoded.
func convertJPEG(ctx context.Context, data []byte, c conversion) ([]byte, string, error) {
	// Pages of the output buffer that are never written are never touched, so sizing it for
	// the worst case costs no memory.
	c.decoder("jpegluma")
	out, err := jpegluma.Transcode(ctx, make([]byte, 0, len(data)+4096), data,
		jpegluma.Options{Quality: c.quality, MaxPixels: c.maxPixels})
	if err == nil {
		return out, contentTypeJPEG, nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return nil, "", ctxErr
	}
	if le := (*jpegluma.LimitError)(nil); errors.As(err, &le) {
		return nil, "", processor.Permanent(ReasonTooComplex, err)
	}
	if c.beforeFallback != nil {
		if err := c.beforeFallback(ctx); err != nil {
			return nil, "", err
		}
	}
	c.decoder("image/jpeg")
	img, err := decodeJPEG(ctx, data, c.maxPixels)
	if err != nil {
		return nil, "", err
	}
	gray, ok := lumaPlane(img)
	if !ok { // CMYK, YCCK or RGB JPEG: compute luma per pixel
		g, err := toGray(ctx, img)
		if err != nil {
			return nil, "", fmt.Errorf("converting: %w", err)
		}
		return encodeImage(ctx, g, "jpeg", c.quality)
	}
	return encodeImage(ctx, gray, "jpeg", c.quality)
}

// lumaPlane returns the luma of a decoded JPEG as an *image.Gray with its origin at (0, 0) that
// shares img's memory (image.Gray allows any stride, so no row is copied), and false for images
// that are neither *image.YCbCr nor *image.Gray.
func lumaPlane(img image.Image) (*image.Gray, bool) {
	switch src := img.(type) {
	case *image.YCbCr:
		b := src.Rect
		i := src.YOffset(b.Min.X, b.Min.Y)
		return &image.Gray{Pix: src.Y[i:], Stride: src.YStride, Rect: image.Rect(0, 0, b.Dx(), b.Dy())}, true
	case *image.Gray:
		b := src.Rect
		i := src.PixOffset(b.Min.X, b.Min.Y)
		return &image.Gray{Pix: src.Pix[i:], Stride: src.Stride, Rect: image.Rect(0, 0, b.Dx(), b.Dy())}, true
	}
	return nil, false
}
