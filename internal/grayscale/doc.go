// Package grayscale is shardline's built-in handler: for a put event it reads the input object's
// current content, converts the image to grayscale and writes it to the output bucket under
// OutputKey(key), with metadata naming the exact source it was derived from; for a delete event it
// deletes that output.
//
// Inputs are checked before they are decoded (byte size against MaxBytes, format and dimensions
// against MaxPixels from the image header alone, and for a JPEG its scans against the limits on
// decoding work) so that a hostile file, such as a small PNG that claims to be 100000×100000
// pixels or a small JPEG of 300 scans, costs neither memory nor CPU. Across concurrent events,
// Config.MemoryBudget bounds the bytes held at once: each put reserves its body and what its
// conversion allocates on its path (bytes per pixel by format and path, from the header, see
// docs/limits.md) before it reads the body, and holds them until its output is written.
//
// Upright JPEGs (no EXIF orientation other than 1) skip imaging and skip decoding altogether:
// package jpegluma re-encodes the luma component's DCT coefficients as a grayscale JPEG, in bands,
// so neither pixels nor a whole image's coefficients are ever held. Memory for such a JPEG is the
// input plus the output plus about a megabyte, whatever its size or whether it is progressive.
//
// Failures are classified once, here: inputs that no retry can fix (not an image, corrupt, too
// large, access denied, …) are returned as processor.Permanent errors with one of the Reason*
// labels; everything else (throttling, 5xx, network, cancellation) is returned as an ordinary
// wrapped error, which the caller retries.
//
// Supported input formats are JPEG, PNG, GIF (first frame), BMP, TIFF and WebP. JPEG inputs are
// written as grayscale JPEG; every other format is written as PNG (alpha is preserved). The output
// key is not renamed, so the object's Content-Type, not its key's extension, says which it is.
package grayscale
