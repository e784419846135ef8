package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/shardline/shardline/processor"
)

// Dead-letter reasons of the manifest handler (processor.Permanent labels).
const (
	ReasonAccessDenied = "access_denied" // S3 answered 403 for the input or the manifest
	ReasonKeyTooLong   = "key_too_long"  // the manifest's key would be over S3's 1,024 bytes
)

// maxKeyBytes is S3's limit on an object key.
const maxKeyBytes = 1024

// maxManifestBytes bounds how much of an existing manifest Verify reads.
const maxManifestBytes = 64 << 10

// Manifest describes one input object as S3 reports it now.
type Manifest struct {
	Bucket       string    `json:"bucket"`
	Key          string    `json:"key"`
	Size         int64     `json:"size"`
	ETag         string    `json:"etag"`
	ContentType  string    `json:"contentType,omitempty"`
	LastModified time.Time `json:"lastModified"`
	VersionID    string    `json:"versionId,omitempty"`
}

// matches reports whether m and o describe the same state of the same object.
func (m Manifest) matches(o Manifest) bool {
	return m.Bucket == o.Bucket && m.Key == o.Key && m.Size == o.Size && m.ETag == o.ETag &&
		m.ContentType == o.ContentType && m.VersionID == o.VersionID && m.LastModified.Equal(o.LastModified)
}

// ObjectStore is the part of the S3 API the handler calls; *s3.Client implements it.
type ObjectStore interface {
	HeadObject(ctx context.Context, in *s3.HeadObjectInput, optFns ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
}

// Manifests keeps one JSON manifest per input object in OutputBucket, at
// Prefix + bucket + "/" + key + ".json": the manifest exists iff the input exists, and then
// describes the input's current state. It is a processor.Handler and a processor.Verifier.
type Manifests struct {
	Store        ObjectStore
	OutputBucket string
	Prefix       string
}

var (
	_ processor.Handler  = (*Manifests)(nil)
	_ processor.Verifier = (*Manifests)(nil)
	_ ObjectStore        = (*s3.Client)(nil)
)

// Handle makes ev's manifest match the input as it is now, whatever ev's Op says: a put may find
// the input gone already, and a delete may find it present (a versioned bucket after a version
// delete, or an object uploaded again). Calling it again changes nothing, so it is safe for
// duplicates and for the processor's repairs.
func (m *Manifests) Handle(ctx context.Context, ev processor.Event) error {
	key, err := m.manifestKey(ev)
	if err != nil {
		return err
	}
	want, err := m.current(ctx, ev.Bucket, ev.Key)
	if err != nil {
		return err
	}
	if want == nil {
		_, err := m.Store.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &m.OutputBucket, Key: &key})
		return classify("delete manifest", m.OutputBucket, key, err)
	}
	body, err := json.Marshal(want)
	if err != nil {
		return fmt.Errorf("encode manifest %s: %w", key, err)
	}
	_, err = m.Store.PutObject(ctx, &s3.PutObjectInput{
		Bucket: &m.OutputBucket, Key: &key, Body: bytes.NewReader(body), ContentType: aws.String("application/json"),
	})
	return classify("put manifest", m.OutputBucket, key, err)
}

// Verify reports whether ev's manifest matches the input now: it exists and describes the
// input's current state, or neither exists. An unreadable manifest does not match.
func (m *Manifests) Verify(ctx context.Context, ev processor.Event) (bool, error) {
	key, err := m.manifestKey(ev)
	if err != nil {
		return false, err
	}
	want, err := m.current(ctx, ev.Bucket, ev.Key)
	if err != nil {
		return false, err
	}
	have, err := m.stored(ctx, key)
	if err != nil {
		return false, err
	}
	if want == nil || have == nil {
		return want == nil && have == nil, nil
	}
	return want.matches(*have), nil
}

// manifestKey is where ev's manifest lives in the output bucket.
func (m *Manifests) manifestKey(ev processor.Event) (string, error) {
	key := m.Prefix + ev.Bucket + "/" + ev.Key + ".json"
	if len(key) > maxKeyBytes {
		return "", processor.Permanent(ReasonKeyTooLong,
			fmt.Errorf("manifest key of s3://%s/%s is %d bytes, over S3's %d", ev.Bucket, ev.Key, len(key), maxKeyBytes))
	}
	return key, nil
}

// current reads the input's metadata now; nil when the input does not exist (in a versioned
// bucket: when its current version is a delete marker).
func (m *Manifests) current(ctx context.Context, bucket, key string) (*Manifest, error) {
	out, err := m.Store.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: &key})
	if notFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, classify("head input", bucket, key, err)
	}
	return &Manifest{
		Bucket: bucket, Key: key,
		Size:         aws.ToInt64(out.ContentLength),
		ETag:         strings.Trim(aws.ToString(out.ETag), `"`),
		ContentType:  aws.ToString(out.ContentType),
		LastModified: aws.ToTime(out.LastModified).UTC(),
		VersionID:    aws.ToString(out.VersionId),
	}, nil
}

// stored reads the manifest at key; nil when there is none. A manifest that is not valid JSON is
// returned empty, so that it matches no input.
func (m *Manifests) stored(ctx context.Context, key string) (*Manifest, error) {
	out, err := m.Store.GetObject(ctx, &s3.GetObjectInput{Bucket: &m.OutputBucket, Key: &key})
	if notFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, classify("get manifest", m.OutputBucket, key, err)
	}
	defer out.Body.Close()
	body, err := io.ReadAll(io.LimitReader(out.Body, maxManifestBytes))
	if err != nil {
		return nil, classify("read manifest", m.OutputBucket, key, err)
	}
	var have Manifest
	if json.Unmarshal(body, &have) != nil {
		return &Manifest{}, nil
	}
	return &have, nil
}

// notFound reports whether err says the object does not exist.
func notFound(err error) bool {
	return errors.As(err, new(*types.NotFound)) || errors.As(err, new(*types.NoSuchKey))
}

// classify wraps an S3 error with the call and the object. A 403 is permanent: S3 refused this
// bucket or key, and a retry gets the same answer (fix the policy, then `shardline redrive
// --reason access_denied`). A HEAD response has no body to say more, so the status decides.
// Everything else (throttling, 5xx, the network) is transient.
func classify(op, bucket, key string, err error) error {
	if err == nil {
		return nil
	}
	err = fmt.Errorf("%s s3://%s/%s: %w", op, bucket, key, err)
	var resp *smithyhttp.ResponseError
	if errors.As(err, &resp) && resp.HTTPStatusCode() == http.StatusForbidden {
		return processor.Permanent(ReasonAccessDenied, err)
	}
	return processor.Transient(err)
}
