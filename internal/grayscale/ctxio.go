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

func (r ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}

// ctxWriter makes a writer fail at the next Write once ctx is done, so that encoding aborts
// promptly on cancellation.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (w ctxWriter) Write(p []byte) (int, error) {
	if err := w.ctx.Err(); err != nil {
		return 0, err
	}
	return w.w.Write(p)
}
