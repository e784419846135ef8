package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// object is the current version of one object in the fake store.
type object struct {
	body         []byte
	etag         string
	contentType  string
	lastModified time.Time
	versionID    string
}

// fakeStore is an in-memory ObjectStore. Its errors have the SDK's shapes: *types.NotFound from
// HeadObject and *types.NoSuchKey from GetObject for a missing object, and an operation error
// around an HTTP response error for a status set in fail.
type fakeStore struct {
	mu      sync.Mutex
	objects map[string]object // by bucket + "/" + key
	fail    map[string]int    // operation + " " + bucket + "/" + key → HTTP status to answer
	puts    int
	deletes int
}

func newFakeStore() *fakeStore {
	return &fakeStore{objects: map[string]object{}, fail: map[string]int{}}
}

// set makes o the current version of bucket/key.
func (f *fakeStore) set(bucket, key string, o object) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.objects[bucket+"/"+key] = o
}

// get returns the current version of bucket/key.
func (f *fakeStore) get(bucket, key string) (object, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o, ok := f.objects[bucket+"/"+key]
	return o, ok
}

func (f *fakeStore) failure(op string, bucket, key *string) error {
	status, ok := f.fail[op+" "+aws.ToString(bucket)+"/"+aws.ToString(key)]
	if !ok {
		return nil
	}
	return &smithy.OperationError{ServiceID: "S3", OperationName: op, Err: &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
			Err:      &smithy.GenericAPIError{Code: http.StatusText(status)},
		},
	}}
}

func (f *fakeStore) HeadObject(_ context.Context, in *s3.HeadObjectInput, _ ...func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.failure("HeadObject", in.Bucket, in.Key); err != nil {
		return nil, err
	}
	o, ok := f.objects[*in.Bucket+"/"+*in.Key]
	if !ok {
		return nil, &types.NotFound{}
	}
	return &s3.HeadObjectOutput{
		ContentLength: aws.Int64(int64(len(o.body))), ETag: aws.String(`"` + o.etag + `"`),
		ContentType: aws.String(o.contentType), LastModified: aws.Time(o.lastModified), VersionId: nonEmpty(o.versionID),
	}, nil
}

func (f *fakeStore) GetObject(_ context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.failure("GetObject", in.Bucket, in.Key); err != nil {
		return nil, err
	}
	o, ok := f.objects[*in.Bucket+"/"+*in.Key]
	if !ok {
		return nil, &types.NoSuchKey{}
	}
	return &s3.GetObjectOutput{Body: io.NopCloser(bytes.NewReader(o.body)), ContentType: aws.String(o.contentType)}, nil
}

func (f *fakeStore) PutObject(_ context.Context, in *s3.PutObjectInput, _ ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.failure("PutObject", in.Bucket, in.Key); err != nil {
		return nil, err
	}
	body, err := io.ReadAll(in.Body)
	if err != nil {
		return nil, err
	}
	f.puts++
	etag := fmt.Sprintf("manifest-%d", f.puts)
	f.objects[*in.Bucket+"/"+*in.Key] = object{body: body, etag: etag, contentType: aws.ToString(in.ContentType), lastModified: time.Now()}
	return &s3.PutObjectOutput{ETag: aws.String(`"` + etag + `"`)}, nil
}

func (f *fakeStore) DeleteObject(_ context.Context, in *s3.DeleteObjectInput, _ ...func(*s3.Options)) (*s3.DeleteObjectOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.failure("DeleteObject", in.Bucket, in.Key); err != nil {
		return nil, err
	}
	// Like S3: deleting an object that does not exist succeeds.
	delete(f.objects, *in.Bucket+"/"+*in.Key)
	f.deletes++
	return &s3.DeleteObjectOutput{}, nil
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
