package grayscale

import (
	"bytes"
	"context"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// outputState is what HeadObject found at the output key.
type outputState struct {
	exists     bool
	etag       string // quoted, as S3 returns it and If-Match takes it
	sourceETag string // the source-etag metadata
	rendition  string // the rendition metadata
}

// outputState reads the output's state with one HEAD request.
func (h *Converter) outputState(ctx context.Context, outKey string) (outputState, error) {
	head, err := h.cfg.Store.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(h.cfg.OutputBucket), Key: aws.String(outKey)})
	switch {
	case err == nil:
		return outputState{exists: true, etag: aws.ToString(head.ETag), sourceETag: head.Metadata[MetaSourceETag],
			rendition: head.Metadata[MetaRendition]}, nil
	case classifyS3(err) == classNotFound:
		return outputState{}, nil
	}
	return outputState{}, s3Error("head", h.cfg.OutputBucket, outKey, err)
}

// putOutput writes data as the output, only if the output is still as read in out (If-Match on
// its ETag, If-None-Match: * if there was none); errOutputChanged if another writer changed it.
func (h *Converter) putOutput(ctx context.Context, outKey string, out outputState, data []byte, contentType string, meta map[string]string) error {
	in := &s3.PutObjectInput{
		Bucket:        aws.String(h.cfg.OutputBucket),
		Key:           aws.String(outKey),
		Body:          bytes.NewReader(data),
		ContentLength: aws.Int64(int64(len(data))),
		ContentType:   aws.String(contentType),
		Metadata:      meta,
	}
	if h.conditional.Load() {
		if out.exists {
			in.IfMatch = aws.String(out.etag)
		} else {
			in.IfNoneMatch = aws.String("*")
		}
	}
	_, err := h.cfg.Store.PutObject(ctx, in)
	switch {
	case err == nil:
		return nil
	case refusedCondition(err):
		return errOutputChanged
	case in.IfMatch != nil && classifyS3(err) == classNotFound:
		return errOutputChanged // If-Match on an output deleted meanwhile
	case h.conditionalUnsupported(err):
		in.IfMatch, in.IfNoneMatch = nil, nil
		in.Body = bytes.NewReader(data)
		if _, err = h.cfg.Store.PutObject(ctx, in); err == nil {
			return nil
		}
	}
	return s3Error("put", h.cfg.OutputBucket, outKey, err)
}

// removeOutput deletes the output read as out, only if it is still that object (If-Match); an
// output that did not exist, or no longer does, counts as deleted.
func (h *Converter) removeOutput(ctx context.Context, outKey string, out outputState) error {
	if !out.exists {
		return nil
	}
	in := &s3.DeleteObjectInput{Bucket: aws.String(h.cfg.OutputBucket), Key: aws.String(outKey)}
	if h.conditional.Load() && out.etag != "" {
		in.IfMatch = aws.String(out.etag)
	}
	_, err := h.cfg.Store.DeleteObject(ctx, in)
	switch {
	case err == nil, classifyS3(err) == classNotFound:
		return nil
	case refusedCondition(err):
		return errOutputChanged
	case h.conditionalUnsupported(err):
		in.IfMatch = nil
		if _, err = h.cfg.Store.DeleteObject(ctx, in); err == nil || classifyS3(err) == classNotFound {
			return nil
		}
	}
	return s3Error("delete", h.cfg.OutputBucket, outKey, err)
}

// conditionalUnsupported reports whether err says the store does not implement conditional
// requests (501 NotImplemented); it then turns them off for this Converter and logs it once.
func (h *Converter) conditionalUnsupported(err error) bool {
	if !notImplemented(err) {
		return false
	}
	if h.conditional.CompareAndSwap(true, false) {
		h.cfg.Logger.Warn("the output store does not implement conditional writes: writing unconditionally; late writes are fenced by verify-and-repair only",
			slog.String("error", err.Error()))
	}
	return true
}
