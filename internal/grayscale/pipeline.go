package grayscale

import (
	"context"
	"fmt"
	"image"

	"github.com/shardline/shardline/internal/jpegluma"
)

// convertData turns data, which checkImage accepted as info, into the encoded grayscale output
// and its content type. Errors are those of decodeImage, toGray and encodeImage.
//
// JPEGs whose EXIF orientation needs no transform take the fast path (convertJPEG); every other
// input is decoded by imaging (with EXIF orientation applied), converted by toGray and encoded.
func convertData(ctx context.Context, data []byte, info imageInfo, maxPixels int64, quality int) ([]byte, string, error) {
	if info.Format == "jpeg" && jpegOrientation(data) <= 1 {
		return convertJPEG(ctx, data, maxPixels, quality)
	}
	img, err := decodeImage(ctx, data, maxPixels)
	if err != nil {
		return nil, "", err
	}
	gray, err := toGray(ctx, img)
	if err != nil {
		return nil, "", fmt.Errorf("converting: %w", err)
	}
	return encodeImage(ctx, gray, info.Format, quality)
}

// convertJPEG converts an upright JPEG. jpegluma re-encodes the input's luma DCT coefficients as
// a grayscale JPEG without decoding a pixel, requantised to quality where the input is finer.
// Files jpegluma does not take (CMYK, RGB, arithmetic coding, …) or finds malformed go to
// image/jpeg, which decodes data and whose luma plane (or per-pixel luma for other colour
// spaces) is encoded at quality; image/jpeg also decides whether a malformed file is corrupt.
func convertJPEG(ctx context.Context, data []byte, maxPixels int64, quality int) ([]byte, string, error) {
	// Pages of the output buffer that are never written are never touched, so sizing it for
	// the worst case costs no memory.
	out, err := jpegluma.Transcode(ctx, make([]byte, 0, len(data)+4096), data,
		jpegluma.Options{Quality: quality, MaxPixels: maxPixels})
	if err == nil {
		return out, contentTypeJPEG, nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return nil, "", ctxErr
	}
	img, err := decodeJPEG(ctx, data, maxPixels)
	if err != nil {
		return nil, "", err
	}
	gray, ok := lumaPlane(img)
	if !ok { // CMYK, YCCK or RGB JPEG: compute luma per pixel
		g, err := toGray(ctx, img)
		if err != nil {
			return nil, "", fmt.Errorf("converting: %w", err)
		}
		return encodeImage(ctx, g, "jpeg", quality)
	}
	return encodeImage(ctx, gray, "jpeg", quality)
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
