package apifault

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestOperation(t *testing.T) {
	cases := []struct {
		name    string
		svc     Service
		method  string
		target  string // URL path and query
		headers map[string]string
		want    string
	}{
		{name: "kinesis PutRecords", svc: Kinesis, method: "POST", target: "/", headers: map[string]string{"X-Amz-Target": "Kinesis_20131202.PutRecords"}, want: "PutRecords"},
		{name: "kinesis GetRecords", svc: Kinesis, method: "POST", target: "/", headers: map[string]string{"X-Amz-Target": "Kinesis_20131202.GetRecords"}, want: "GetRecords"},
		{name: "kinesis rpcv2 cbor path", svc: Kinesis, method: "POST", target: "/service/Kinesis_20131202/operation/ListShards", headers: map[string]string{"Smithy-Protocol": "rpc-v2-cbor"}, want: "ListShards"},
		{name: "kinesis no target", svc: Kinesis, method: "POST", target: "/", want: Unknown},
		{name: "kinesis target without operation", svc: Kinesis, method: "POST", target: "/", headers: map[string]string{"X-Amz-Target": "Kinesis_20131202."}, want: Unknown},
		{name: "dynamodb PutItem", svc: DynamoDB, method: "POST", target: "/", headers: map[string]string{"X-Amz-Target": "DynamoDB_20120810.PutItem"}, want: "PutItem"},
		{name: "dynamodb UpdateItem", svc: DynamoDB, method: "POST", target: "/", headers: map[string]string{"X-Amz-Target": "DynamoDB_20120810.UpdateItem"}, want: "UpdateItem"},
		{name: "s3 ListBuckets", svc: S3, method: "GET", target: "/", want: "ListBuckets"},
		{name: "s3 GetObject", svc: S3, method: "GET", target: "/in/a/b.jpg", want: "GetObject"},
		{name: "s3 GetObject x-id", svc: S3, method: "GET", target: "/in/a.jpg?x-id=GetObject", want: "GetObject"},
		{name: "s3 GetObject escaped key", svc: S3, method: "GET", target: "/in/a%2Fb%20c.jpg", want: "GetObject"},
		{name: "s3 HeadObject", svc: S3, method: "HEAD", target: "/in/a.jpg", want: "HeadObject"},
		{name: "s3 PutObject", svc: S3, method: "PUT", target: "/out/a.jpg", want: "PutObject"},
		{name: "s3 CopyObject", svc: S3, method: "PUT", target: "/out/a.jpg", headers: map[string]string{"X-Amz-Copy-Source": "in/a.jpg"}, want: "CopyObject"},
		{name: "s3 UploadPart", svc: S3, method: "PUT", target: "/out/a.jpg?partNumber=2&uploadId=x", want: "UploadPart"},
		{name: "s3 UploadPartCopy", svc: S3, method: "PUT", target: "/out/a.jpg?partNumber=2&uploadId=x", headers: map[string]string{"X-Amz-Copy-Source": "in/a.jpg"}, want: "UploadPartCopy"},
		{name: "s3 PutObjectTagging", svc: S3, method: "PUT", target: "/out/a.jpg?tagging", want: "PutObjectTagging"},
		{name: "s3 DeleteObject", svc: S3, method: "DELETE", target: "/out/a.jpg", want: "DeleteObject"},
		{name: "s3 DeleteObject version", svc: S3, method: "DELETE", target: "/in/a.jpg?versionId=3", want: "DeleteObject"},
		{name: "s3 AbortMultipartUpload", svc: S3, method: "DELETE", target: "/out/a.jpg?uploadId=x", want: "AbortMultipartUpload"},
		{name: "s3 CreateMultipartUpload", svc: S3, method: "POST", target: "/out/a.jpg?uploads", want: "CreateMultipartUpload"},
		{name: "s3 CompleteMultipartUpload", svc: S3, method: "POST", target: "/out/a.jpg?uploadId=x", want: "CompleteMultipartUpload"},
		{name: "s3 ListObjectsV2", svc: S3, method: "GET", target: "/in?list-type=2&prefix=a", want: "ListObjectsV2"},
		{name: "s3 ListObjectsV2 trailing slash", svc: S3, method: "GET", target: "/in/?list-type=2", want: "ListObjectsV2"},
		{name: "s3 ListObjects", svc: S3, method: "GET", target: "/in", want: "ListObjects"},
		{name: "s3 ListObjectVersions", svc: S3, method: "GET", target: "/in?versions", want: "ListObjectVersions"},
		{name: "s3 GetBucketLocation", svc: S3, method: "GET", target: "/in?location", want: "GetBucketLocation"},
		{name: "s3 HeadBucket", svc: S3, method: "HEAD", target: "/in", want: "HeadBucket"},
		{name: "s3 CreateBucket", svc: S3, method: "PUT", target: "/in", want: "CreateBucket"},
		{name: "s3 DeleteBucket", svc: S3, method: "DELETE", target: "/in", want: "DeleteBucket"},
		{name: "s3 DeleteObjects", svc: S3, method: "POST", target: "/in?delete", want: "DeleteObjects"},
		{name: "s3 PutBucketVersioning", svc: S3, method: "PUT", target: "/in?versioning", want: "PutBucketVersioning"},
		{name: "s3 PutBucketNotificationConfiguration", svc: S3, method: "PUT", target: "/in?notification", want: "PutBucketNotificationConfiguration"},
		{name: "s3 DeleteBucketLifecycle", svc: S3, method: "DELETE", target: "/in?lifecycle", want: "DeleteBucketLifecycle"},
		{name: "s3 unknown method", svc: S3, method: "PATCH", target: "/in/a.jpg", want: Unknown},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, "http://127.0.0.1:9000"+tc.target, nil)
			for k, v := range tc.headers {
				r.Header.Set(k, v)
			}
			if got := Operation(tc.svc, r); got != tc.want {
				t.Errorf("Operation(%s, %s %s) = %q, want %q", tc.svc, tc.method, tc.target, got, tc.want)
			}
		})
	}
}

func TestIsRPCV2(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/service/Kinesis_20131202/operation/PutRecords", nil)
	if isRPCV2(r) {
		t.Error("request without Smithy-Protocol taken for RPC v2")
	}
	r.Header.Set("Smithy-Protocol", "rpc-v2-cbor")
	if !isRPCV2(r) {
		t.Error("RPC v2 CBOR request not recognised")
	}
}
