package grayscale

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"

	// Input formats. Registration only adds entries to the image package's format table.
	_ "image/gif"

	_ "golang.org/x/image/bmp"
	_ "golang.org/x/image/tiff"
	_ "golang.org/x/image/webp"

	"github.com/disintegration/imaging"

	"github.com/shardline/shardline/processor"
)

// Output content types.
const (
	contentTypeJPEG = "image/jpeg"
	contentTypePNG  = "image/png"
)

// imageInfo is what an image's header says about it.
type imageInfo struct {
	Format        string // name registered with package image: "jpeg", "png", "gif", …
	Width, Height int
}

// checkImage reads only the header of data and accepts it if it is a supported format whose
// declared dimensions are non-zero and at most maxPixels pixels in all. Every error it returns is
// permanent: ReasonNotAnImage, ReasonCorruptImage or ReasonTooManyPixels.
func checkImage(data []byte, maxPixels int64) (imageInfo, error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if errors.Is(err, image.ErrFormat) {
		return imageInfo{}, processor.Permanent(ReasonNotAnImage, errors.New("no supported image format recognised"))
	}
	if err != nil {
		return imageInfo{}, processor.Permanent(ReasonCorruptImage, fmt.Errorf("reading %s header: %w", format, err))
	}
	info := imageInfo{Format: format, Width: cfg.Width, Height: cfg.Height}
	if info.Width <= 0 || info.Height <= 0 {
		return imageInfo{}, processor.Permanent(ReasonTooManyPixels, fmt.Errorf("%s header declares %d×%d pixels", format, info.Width, info.Height))
	}
	// w*h > maxPixels without overflow: for positive integers, w*h <= m iff w <= m/h.
	if int64(info.Width) > maxPixels/int64(info.Height) {
		return imageInfo{}, processor.Permanent(ReasonTooManyPixels, fmt.Errorf("%s header declares %d×%d pixels, more than the limit of %d",
			format, info.Width, info.Height, maxPixels))
	}
	return info, nil
}

// decodeImage decodes data, applying its EXIF orientation. It must only be called on data that
// checkImage accepted. A decoder failure is a permanent ReasonCorruptImage, unless ctx ended,
// in which case ctx's error is returned (transient).
func decodeImage(ctx context.Context, data []byte, maxPixels int64) (image.Image, error) {
	return decodeWith(ctx, data, maxPixels, imagingDecode)
}

// decodeJPEG decodes the JPEG in data with image/jpeg alone, ignoring any EXIF orientation; the
// result is an *image.YCbCr, *image.Gray, *image.CMYK or *image.RGBA. Errors are as decodeImage's.
func decodeJPEG(ctx context.Context, data []byte, maxPixels int64) (image.Image, error) {
	return decodeWith(ctx, data, maxPixels, jpeg.Decode)
}

// decodeWith runs decode on data, turning a decoder failure or panic into a permanent
// ReasonCorruptImage (or ctx's error once ctx ended) and checking the decoded size.
func decodeWith(ctx context.Context, data []byte, maxPixels int64, decode func(io.Reader) (image.Image, error)) (image.Image, error) {
	img, err := safeDecodeWith(decode, ctxReader{ctx: ctx, r: bytes.NewReader(data)})
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, processor.Permanent(ReasonCorruptImage, fmt.Errorf("decoding: %w", err))
	}
	// Decoders allocate from the header checkImage read; this guards against one that does not.
	b := img.Bounds()
	if b.Empty() || int64(b.Dx()) > maxPixels/int64(b.Dy()) {
		return nil, processor.Permanent(ReasonCorruptImage, fmt.Errorf("decoded size %v disagrees with the header", b.Size()))
	}
	return img, nil
}

// imagingDecode decodes any registered format and applies the EXIF orientation.
func imagingDecode(r io.Reader) (image.Image, error) {
	return imaging.Decode(r, imaging.AutoOrientation(true))
}

// safeDecode runs imaging.Decode and turns a decoder panic into an error: a decoder bug triggered
// by one hostile file must dead-letter that file, not crash-loop the worker on it. (If the panic
// happens mid-decode, the helper goroutine imaging uses to read EXIF for that call stays blocked;
// that is the price of not crashing.)
func safeDecode(r io.Reader) (image.Image, error) {
	return safeDecodeWith(imagingDecode, r)
}

// safeDecodeWith runs decode(r), turning a panic into an error.
func safeDecodeWith(decode func(io.Reader) (image.Image, error), r io.Reader) (img image.Image, err error) {
	defer func() {
		if p := recover(); p != nil {
			img, err = nil, fmt.Errorf("decoder panicked: %v", p)
		}
	}()
	return decode(r)
}

// pngRawBytes returns the bytes of img's samples as png.Encode writes them: 1 a pixel for
// *image.Gray, 4 for everything toGray returns with alpha.
func pngRawBytes(img image.Image) int64 {
	b := img.Bounds()
	px := int64(b.Dx()) * int64(b.Dy())
	if _, ok := img.(*image.Gray); ok {
		return px
	}
	return 4 * px
}

// encodeImage encodes img in the output format for an input of the given format (JPEG stays
// JPEG, everything else becomes PNG) and returns the bytes and their content type. Encoding an
// in-memory image fails only when ctx ends (transient) or the encoder rejects the image, which
// is deterministic and therefore permanent (ReasonEncodeFailed).
func encodeImage(ctx context.Context, img image.Image, inputFormat string, jpegQuality int) ([]byte, string, error) {
	var buf bytes.Buffer
	w := ctxWriter{ctx: ctx, w: &buf}
	var err error
	contentType := contentTypePNG
	if inputFormat == "jpeg" {
		contentType = contentTypeJPEG
		err = jpeg.Encode(w, img, &jpeg.Options{Quality: jpegQuality})
	} else {
		// One allocation of the largest a PNG of these pixels gets (deflate's stored blocks,
		// a filter byte a row, chunk framing), instead of a buffer that doubles as it grows and
		// leaves its old copies as garbage; pages never written are never touched.
		raw := pngRawBytes(img)
		buf.Grow(int(raw + raw/64 + int64(img.Bounds().Dy()) + 64<<10))
		err = png.Encode(w, img)
	}
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, "", ctxErr
		}
		return nil, "", processor.Permanent(ReasonEncodeFailed, fmt.Errorf("encoding %s: %w", contentType, err))
	}
	return buf.Bytes(), contentType, nil
}
