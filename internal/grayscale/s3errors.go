package grayscale

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/shardline/shardline/processor"
)

// s3Class says how the handler treats an error returned by the ObjectStore.
type s3Class int

const (
	// classTransient: retry (throttling, 5xx, network, cancellation, anything unrecognised).
	classTransient s3Class = iota
	// classNotFound: the object does not exist (NoSuchKey, or a 404 without an error code).
	classNotFound
	// classAccessDenied: S3 refused access to this object or bucket.
	classAccessDenied
	// classNoSuchBucket: the bucket does not exist.
	classNoSuchBucket
	// classInvalidObjectState: the object is archived and must be restored before it is read.
	classInvalidObjectState
	// classInvalidKey: the store refuses the key itself (too long, characters or path segments
	// it does not accept, such as MinIO's ".." and "//").
	classInvalidKey
)

func (c s3Class) String() string {
	switch c {
	case classTransient:
		return "transient"
	case classNotFound:
		return "not_found"
	case classAccessDenied:
		return "access_denied"
	case classNoSuchBucket:
		return "no_such_bucket"
	case classInvalidObjectState:
		return "invalid_object_state"
	case classInvalidKey:
		return "invalid_key"
	}
	return fmt.Sprintf("s3Class(%d)", int(c))
}

// credentialCodes are 400/403 error codes that describe the worker's credentials or clock, not
// the object. They are transient: dead-lettering every record while credentials rotate or a
// clock is fixed would discard work that a retry completes.
var credentialCodes = map[string]bool{
	"InvalidAccessKeyId":    true,
	"SignatureDoesNotMatch": true,
	"RequestTimeTooSkewed":  true,
	"ExpiredToken":          true,
	"InvalidToken":          true,
	"TokenRefreshRequired":  true,
}

// invalidKeyCodes are error codes by which S3 or an S3-compatible store refuses an object key as
// a name. The same key is refused on every retry.
var invalidKeyCodes = map[string]bool{
	"KeyTooLongError":           true, // S3, MinIO: over 1,024 bytes
	"InvalidObjectName":         true,
	"XMinioInvalidObjectName":   true, // MinIO: NUL, "//", a path segment over 255 bytes, …
	"XMinioInvalidResourceName": true, // MinIO: "." or ".." path segments
}

// classifyS3 maps an ObjectStore error to an s3Class using the SDK's typed errors, the smithy API
// error code and the HTTP status, in that order of preference.
func classifyS3(err error) s3Class {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return classTransient
	}
	switch {
	case errors.As(err, new(*types.NoSuchBucket)):
		return classNoSuchBucket
	case errors.As(err, new(*types.NoSuchKey)), errors.As(err, new(*types.NotFound)):
		return classNotFound
	case errors.As(err, new(*types.InvalidObjectState)):
		return classInvalidObjectState
	}

	var code string
	if apiErr := smithy.APIError(nil); errors.As(err, &apiErr) {
		code = apiErr.ErrorCode()
	}
	switch code {
	case "NoSuchBucket":
		return classNoSuchBucket
	case "NoSuchKey", "NotFound":
		return classNotFound
	case "AccessDenied", "AllAccessDisabled":
		return classAccessDenied
	case "InvalidObjectState":
		return classInvalidObjectState
	}
	if invalidKeyCodes[code] {
		return classInvalidKey
	}
	if credentialCodes[code] {
		return classTransient
	}

	var respErr *smithyhttp.ResponseError
	if !errors.As(err, &respErr) {
		return classTransient
	}
	switch respErr.HTTPStatusCode() {
	case http.StatusForbidden:
		// A 403 that is not about credentials (handled above) is a policy decision about this
		// bucket or key: retrying will not change it.
		return classAccessDenied
	case http.StatusNotFound:
		// Only a 404 that names no other error (HEAD-style responses carry no body) means the
		// object is gone. Any other code is unexpected: retrying is safer than deleting an output.
		if code == "" {
			return classNotFound
		}
	}
	return classTransient
}

// s3Error wraps an ObjectStore error with the operation and object, as a permanent error when no
// retry can fix it and as a plain (transient) error otherwise. Callers handle classNotFound
// before calling it.
func s3Error(op, bucket, key string, err error) error {
	wrapped := fmt.Errorf("%s s3://%s/%s: %w", op, bucket, key, err)
	switch classifyS3(err) {
	case classAccessDenied:
		return processor.Permanent(ReasonAccessDenied, wrapped)
	case classNoSuchBucket:
		return processor.Permanent(ReasonNoSuchBucket, wrapped)
	case classInvalidObjectState:
		return processor.Permanent(ReasonInvalidObjectState, wrapped)
	case classInvalidKey:
		return processor.Permanent(ReasonInvalidKey, wrapped)
	}
	return wrapped
}

// refusedCondition reports whether err is S3's answer to a conditional request whose condition
// did not hold: 412 PreconditionFailed, or 409 ConditionalRequestConflict (a concurrent write to
// the same key won).
func refusedCondition(err error) bool {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "PreconditionFailed", "ConditionalRequestConflict":
			return true
		}
	}
	var respErr *smithyhttp.ResponseError
	return errors.As(err, &respErr) && respErr.HTTPStatusCode() == http.StatusPreconditionFailed
}

// notImplemented reports whether err is 501 NotImplemented: the store does not implement the
// request, or a header of it (such as If-Match).
func notImplemented(err error) bool {
	var apiErr smithy.APIError
	var respErr *smithyhttp.ResponseError
	return errors.As(err, &apiErr) && apiErr.ErrorCode() == "NotImplemented" ||
		errors.As(err, &respErr) && respErr.HTTPStatusCode() == http.StatusNotImplemented
}
