package grayscale

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/shardline/shardline/processor"
)

// sniffBytes is how much of a body is read before its memory is reserved: enough for the
// header of every supported format, EXIF and all, in all but unusual files.
const sniffBytes = 64 << 10

// worstPerPixel bounds conversionCost's bytes per pixel on every path; it costs an image whose
// header is not within the first sniffBytes of its body.
const worstPerPixel = 40

// convert reads the input's body and returns its grayscale copy, with the reservation of the
// memory budget that covers the body and the conversion; the caller releases it once the output
// is written. The body's first sniffBytes are read before the reservation, the rest after it.
func (h *Converter) convert(ctx context.Context, ev processor.Event, obj *s3.GetObjectOutput) ([]byte, string, *reservation, error) {
	src := fmt.Sprintf("s3://%s/%s", ev.Bucket, ev.Key)
	if obj.Body == nil {
		return nil, "", nil, processor.Permanent(ReasonEmptyObject, fmt.Errorf("%s: no body", src))
	}
	defer obj.Body.Close()
	limit := h.cfg.MaxBytes
	size := aws.ToInt64(obj.ContentLength)
	if size > limit {
		return nil, "", nil, processor.Permanent(ReasonTooLarge, fmt.Errorf("%s: %d bytes, more than the limit of %d", src, size, limit))
	}
	bodyCap := limit // what the body may grow to
	if size > 0 {
		bodyCap = size
	}
	body := ctxReader{ctx: ctx, r: obj.Body}
	prefix := make([]byte, min(bodyCap, sniffBytes))
	n, err := io.ReadFull(body, prefix)
	complete := errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) // the body is shorter
	if err != nil && !complete {
		return nil, "", nil, readError(ctx, src, err)
	}
	prefix = prefix[:n]
	if n == 0 {
		return nil, "", nil, processor.Permanent(ReasonEmptyObject, fmt.Errorf("%s: zero bytes", src))
	}

	cost, err := h.admissionCost(prefix, bodyCap, complete || int64(n) == size)
	if err != nil {
		return nil, "", nil, fmt.Errorf("%s: %w", src, err)
	}
	res, err := h.budget.reserve(ctx, cost, src)
	if err != nil {
		return nil, "", nil, fmt.Errorf("%s: %w", src, err)
	}
	out, contentType, err := h.convertBody(ctx, src, body, prefix, complete, bodyCap, res)
	if err != nil {
		res.release()
		return nil, "", nil, err
	}
	return out, contentType, res, nil
}

// admissionCost returns the bytes a put reserves before reading the rest of a body of at most
// bodyCap bytes whose first bytes are prefix (all of it if complete): the body and the
// conversion, costed from the header in the prefix. If the prefix holds no complete header,
// that is the worst case (at most the whole budget); if it is the whole body, the header's
// error is returned (permanent).
func (h *Converter) admissionCost(prefix []byte, bodyCap int64, complete bool) (int64, error) {
	info, err := checkImage(prefix, h.cfg.MaxPixels)
	if err != nil {
		if complete {
			return 0, err
		}
		return min(h.budget.size, bodyCap+bytes.MinRead+costFixed+worstPerPixel*h.cfg.MaxPixels), nil
	}
	hdr, err := readHeader(prefix, info)
	if err != nil {
		return 0, err
	}
	c, _ := conversionCost(hdr, int(bodyCap))
	return bodyCap + bytes.MinRead + c, nil
}

// convertBody reads the rest of a body whose first bytes are prefix (all of it if complete),
// enforcing MaxBytes, and converts it, growing res if the image costs more than res holds.
func (h *Converter) convertBody(ctx context.Context, src string, body io.Reader, prefix []byte, complete bool, bodyCap int64, res *reservation) ([]byte, string, error) {
	limit := h.cfg.MaxBytes
	data := prefix
	if !complete {
		buf := bytes.NewBuffer(make([]byte, 0, bodyCap+bytes.MinRead)) // room for the read that sees EOF
		buf.Write(prefix)
		if _, err := buf.ReadFrom(io.LimitReader(body, limit+1-int64(len(prefix)))); err != nil {
			return nil, "", readError(ctx, src, err)
		}
		data = buf.Bytes()
	}
	if int64(len(data)) > limit {
		return nil, "", processor.Permanent(ReasonTooLarge, fmt.Errorf("%s: more than the limit of %d bytes", src, limit))
	}
	info, err := checkImage(data, h.cfg.MaxPixels)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", src, err)
	}
	hdr, err := readHeader(data, info)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", src, err)
	}
	held := int64(cap(data)) // the body as allocated
	c, _ := conversionCost(hdr, len(data))
	if err := res.growTo(ctx, held+c, src); err != nil {
		return nil, "", fmt.Errorf("%s: %w", src, err)
	}
	conv := conversion{maxPixels: h.cfg.MaxPixels, quality: h.cfg.JPEGQuality, onDecoder: h.onDecoder,
		beforeFallback: func(ctx context.Context) error {
			return res.growTo(ctx, held+jpegFallbackCost(hdr), src+" (image/jpeg fallback)")
		}}
	out, contentType, err := convertData(ctx, data, hdr, conv)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", src, err)
	}
	return out, contentType, nil
}

// readError wraps an error reading src's body: ctx's error if ctx ended, else the read error;
// both are transient.
func readError(ctx context.Context, src string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("reading %s: %w", src, ctxErr)
	}
	return fmt.Errorf("reading %s: %w", src, err)
}
