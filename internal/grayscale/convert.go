package grayscale

import "context"

// Convert turns the encoded image data into a grayscale copy, the same conversion the handler
// applies to an input: the header is checked first (supported format, dimensions within
// DefaultMaxPixels, JPEG scans within the handler's limits), EXIF orientation is applied, JPEG
// stays JPEG (encoded at quality; 0 means DefaultJPEGQuality) and every other format becomes PNG, keeping transparency. It returns the
// encoded output, its content type ("image/jpeg" or "image/png") and, on failure, a permanent
// error labelled with one of the Reason* values, or ctx's error if ctx ended.
//
// Upright JPEGs take the fast path: their luma DCT coefficients are re-encoded without decoding
// (requantised to quality where the input is finer; never finer than the input).
// Convert has no memory budget: callers bound their own concurrency.
//
// Convert is the image path the benchmarks measure; faster implementations keep this signature.
func Convert(ctx context.Context, data []byte, quality int) (out []byte, format string, err error) {
	if quality == 0 {
		quality = DefaultJPEGQuality
	}
	info, err := checkImage(data, DefaultMaxPixels)
	if err != nil {
		return nil, "", err
	}
	hdr, err := readHeader(data, info)
	if err != nil {
		return nil, "", err
	}
	return convertData(ctx, data, hdr, conversion{maxPixels: DefaultMaxPixels, quality: quality})
}
