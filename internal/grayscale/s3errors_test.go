package grayscale

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/shardline/shardline/processor"
)

func TestClassifyS3(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want s3Class
	}{
		{name: "typed NoSuchKey", err: sdkError("GetObject", 404, &types.NoSuchKey{Message: aws.String("gone")}), want: classNotFound},
		{name: "typed NotFound", err: sdkError("HeadObject", 404, &types.NotFound{}), want: classNotFound},
		{name: "NoSuchKey code", err: sdkError("GetObject", 404, genericErr("NoSuchKey", "")), want: classNotFound},
		{name: "404 without code", err: sdkError("GetObject", 404, errors.New("not found")), want: classNotFound},
		{name: "404 with other code", err: sdkError("GetObject", 404, genericErr("NoSuchVersion", "")), want: classTransient},
		{name: "typed NoSuchBucket", err: sdkError("GetObject", 404, &types.NoSuchBucket{}), want: classNoSuchBucket},
		{name: "NoSuchBucket code", err: sdkError("PutObject", 404, genericErr("NoSuchBucket", "")), want: classNoSuchBucket},
		{name: "AccessDenied", err: sdkError("GetObject", 403, genericErr("AccessDenied", "Access Denied")), want: classAccessDenied},
		{name: "AccessDenied without status", err: genericErr("AccessDenied", ""), want: classAccessDenied},
		{name: "403 without code", err: sdkError("GetObject", 403, errors.New("forbidden")), want: classAccessDenied},
		{name: "AllAccessDisabled", err: sdkError("GetObject", 403, genericErr("AllAccessDisabled", "")), want: classAccessDenied},
		{name: "archived object", err: sdkError("GetObject", 403, &types.InvalidObjectState{}), want: classInvalidObjectState},
		{name: "key too long", err: sdkError("PutObject", 400, genericErr("KeyTooLongError", "Your key is too long")), want: classInvalidKey},
		{name: "MinIO dot segments", err: sdkError("PutObject", 400, genericErr("XMinioInvalidResourceName", "Resource name contains bad components such as \"..\" or \".\".")), want: classInvalidKey},
		{name: "MinIO unsupported characters", err: sdkError("PutObject", 400, genericErr("XMinioInvalidObjectName", "Object name contains unsupported characters.")), want: classInvalidKey},
		{name: "other 400 stays transient", err: sdkError("PutObject", 400, genericErr("RequestTimeout", "")), want: classTransient},
		{name: "bad access key is the worker's problem", err: sdkError("GetObject", 403, genericErr("InvalidAccessKeyId", "")), want: classTransient},
		{name: "signature mismatch", err: sdkError("GetObject", 403, genericErr("SignatureDoesNotMatch", "")), want: classTransient},
		{name: "clock skew", err: sdkError("GetObject", 403, genericErr("RequestTimeTooSkewed", "")), want: classTransient},
		{name: "expired token", err: sdkError("GetObject", 400, genericErr("ExpiredToken", "")), want: classTransient},
		{name: "SlowDown 503", err: sdkError("PutObject", 503, genericErr("SlowDown", "")), want: classTransient},
		{name: "500", err: sdkError("PutObject", 500, genericErr("InternalError", "")), want: classTransient},
		{name: "throttling", err: sdkError("PutObject", 400, genericErr("ThrottlingException", "")), want: classTransient},
		{name: "network", err: &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}, want: classTransient},
		{name: "canceled", err: fmt.Errorf("get: %w", context.Canceled), want: classTransient},
		{name: "deadline", err: &smithy.OperationError{Err: context.DeadlineExceeded}, want: classTransient},
		{name: "nil", err: nil, want: classTransient},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := classifyS3(tc.err); got != tc.want {
				t.Errorf("classifyS3(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

func TestS3Error(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantReason string // "" = transient
	}{
		{name: "access denied", err: sdkError("GetObject", http.StatusForbidden, genericErr("AccessDenied", "")), wantReason: ReasonAccessDenied},
		{name: "no such bucket", err: sdkError("GetObject", http.StatusNotFound, genericErr("NoSuchBucket", "")), wantReason: ReasonNoSuchBucket},
		{name: "archived", err: sdkError("GetObject", http.StatusForbidden, genericErr("InvalidObjectState", "")), wantReason: ReasonInvalidObjectState},
		{name: "key refused", err: sdkError("PutObject", http.StatusBadRequest, genericErr("XMinioInvalidResourceName", "")), wantReason: ReasonInvalidKey},
		{name: "503", err: sdkError("GetObject", http.StatusServiceUnavailable, genericErr("SlowDown", ""))},
		{name: "canceled", err: context.Canceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := s3Error("get", "b", "k", tc.err)
			if got := processor.ReasonOf(err); got != tc.wantReason {
				t.Errorf("reason %q, want %q (err %v)", got, tc.wantReason, err)
			}
			if !errors.Is(err, tc.err) {
				t.Errorf("%v does not wrap the cause", err)
			}
			if want := "get s3://b/k: "; !strings.Contains(err.Error(), want) {
				t.Errorf("%q lacks context %q", err.Error(), want)
			}
		})
	}
}
