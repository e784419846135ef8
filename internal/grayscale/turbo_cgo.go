//go:build turbojpeg && cgo

package grayscale

/*
#cgo LDFLAGS: -lturbojpeg
#include <stdio.h>
#include <string.h>
#include <turbojpeg.h>

// shardline_gray losslessly drops the chroma of the YCbCr or grayscale JPEG in src. On success
// it returns 0 and *dst (to be released with tjFree) holds *dstSize bytes; otherwise it returns
// -1 and errbuf says why. width and height receive the header's dimensions.
static int shardline_gray(const unsigned char *src, unsigned long srcSize,
		unsigned char **dst, unsigned long *dstSize, int *width, int *height,
		char *errbuf, int errlen) {
	int subsamp, colorspace, rc = -1;
	tjtransform xf;
	tjhandle h = tjInitTransform();

	*dst = NULL;
	*dstSize = 0;
	if (h == NULL) {
		snprintf(errbuf, errlen, "tjInitTransform: %s", tjGetErrorStr2(NULL));
		return -1;
	}
	if (tjDecompressHeader3(h, src, srcSize, width, height, &subsamp, &colorspace) != 0) {
		snprintf(errbuf, errlen, "reading header: %s", tjGetErrorStr2(h));
		goto done;
	}
	// For any other colour space (RGB, CMYK, YCCK) libjpeg-turbo would silently skip the
	// grayscale conversion and return a colour image.
	if (colorspace != TJCS_YCbCr && colorspace != TJCS_GRAY) {
		snprintf(errbuf, errlen, "colour space %d is neither YCbCr nor gray", colorspace);
		goto done;
	}
	memset(&xf, 0, sizeof xf);
	xf.op = TJXOP_NONE;
	xf.options = TJXOPT_GRAY | TJXOPT_COPYNONE;
	// Warnings (truncated or corrupt data) are errors, so that such files fall back to the
	// pure-Go decoder and are judged the same way in every build; LIMITSCANS refuses
	// progressive files with absurd scan counts.
	if (tjTransform(h, src, srcSize, 1, dst, dstSize, &xf, TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS) != 0) {
		snprintf(errbuf, errlen, "transform: %s", tjGetErrorStr2(h));
		if (*dst != NULL) {
			tjFree(*dst);
			*dst = NULL;
		}
		goto done;
	}
	rc = 0;
done:
	tjDestroy(h);
	return rc;
}
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"unsafe"
)

// turboBuilt reports whether this binary has the libjpeg-turbo path (build tag turbojpeg, cgo).
const turboBuilt = true

// turboGray returns the JPEG in data with its chroma dropped by libjpeg-turbo's lossless
// DCT-domain grayscale transform: no pixel is decoded or re-encoded, so the luma keeps the
// input's quality exactly. Metadata is not copied. It fails, leaving the decision to the
// pure-Go path, for corrupt or truncated data, colour spaces other than YCbCr and gray, and
// images over maxPixels.
func turboGray(ctx context.Context, data []byte, maxPixels int64) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(data) == 0 {
		return nil, errors.New("turbojpeg: no data")
	}
	var (
		dst     *C.uchar
		dstSize C.ulong
		w, h    C.int
		errbuf  [256]C.char
	)
	rc := C.shardline_gray((*C.uchar)(unsafe.Pointer(&data[0])), C.ulong(len(data)),
		&dst, &dstSize, &w, &h, &errbuf[0], C.int(len(errbuf)))
	if rc != 0 {
		return nil, fmt.Errorf("turbojpeg: %s", C.GoString(&errbuf[0]))
	}
	defer C.tjFree(dst)
	if w <= 0 || h <= 0 || int64(w) > maxPixels/int64(h) {
		return nil, fmt.Errorf("turbojpeg: %d×%d pixels is outside the limit of %d", w, h, maxPixels)
	}
	return C.GoBytes(unsafe.Pointer(dst), C.int(dstSize)), nil
}
