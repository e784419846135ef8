package grayscale

import (
	"context"
	"fmt"
	"image"
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

// convertJPEG converts an upright JPEG. With the turbojpeg build tag it first tries
// libjpeg-turbo's lossless grayscale transform, which keeps the luma DCT coefficients and drops
// the chroma ones without decoding (quality is then the input's); when that is not built or
// fails for any reason, image/jpeg decodes data and its luma plane, which is already the
// grayscale image, is encoded as a one-component JPEG at quality without any per-pixel work.
func convertJPEG(ctx context.Context, data []byte, maxPixels int64, quality int) ([]byte, string, error) {
	if turboBuilt {
		if out, err := turboGray(ctx, data, maxPixels); err == nil {
			return out, contentTypeJPEG, nil
		}
		// Fall through: image/jpeg decides whether the input is corrupt or ctx ended.
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
