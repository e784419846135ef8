// Package jpegluma turns a JPEG into a grayscale JPEG without decoding a pixel.
//
// A YCbCr or grayscale JPEG already stores its grayscale image: the luma (Y) component. Transcode
// entropy-decodes only the quantised DCT coefficients of that component (the chroma scans of a
// progressive file are skipped, not decoded) and entropy-encodes them again as a one-component
// baseline JPEG. There is no inverse or forward DCT, no colour conversion and no rounding, so with
// Options.Quality 0 the output's pixels are exactly the input's luma plane; with a Quality the
// coefficients are requantised to the coarser of the input's and that quality's table.
//
// Memory stays small whatever the input: the image is transcoded in horizontal bands, and the
// state of every scan's entropy decoder (byte offset, bit buffer, end-of-band run, DC predictors)
// is kept between bands, so even a progressive file, whose coefficients only become final after
// its last scan, needs the coefficients of one band at a time, not of the whole image.
//
// What it does not transcode (arithmetic coding, 12-bit samples, lossless or hierarchical
// frames, RGB, CMYK and YCCK files, luma that is not the most sampled component) is reported as
// an *UnsupportedError; malformed or truncated data as a *FormatError. Callers fall back to a full
// decoder for both. A file over a limit (MaxScans, Options.MaxPixels) is a *LimitError: a full
// decoder would cost more, so callers refuse it instead.
package jpegluma
