package grayscale

import (
	"context"
	"io"
)

// ctxReader makes a reader stop at the next Read once ctx is done, so that reading a body or
// decoding an image aborts promptly on cancellation.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (r ctxReader) Read(p []byte) (int, error) { return unlessDone(r.ctx, r.r.Read, p) }

// ctxWriter makes a writer fail at the next Write once ctx is done, so that encoding aborts
// promptly on cancellation.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (w ctxWriter) Write(p []byte) (int, error) { return unlessDone(w.ctx, w.w.Write, p) }

// unlessDone returns ctx's error if ctx is done, else what rw (a Read or a Write) does with p.
func unlessDone(ctx context.Context, rw func([]byte) (int, error), p []byte) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return rw(p)
}
