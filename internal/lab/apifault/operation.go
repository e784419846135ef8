package apifault

import (
	"net/http"
	"strings"
)

// Unknown is the operation name of a call the proxy cannot name.
const Unknown = "Unknown"

// Operation names the API operation of a request to svc, as the service model names it:
// "PutRecords", "PutItem", "GetObject". Kinesis and DynamoDB name it in the X-Amz-Target header
// (awsJson1_0/1_1: "DynamoDB_20120810.PutItem") or, for Smithy RPC v2 CBOR, in the path
// (/service/Kinesis_20131202/operation/PutRecords). S3 calls are named from the method, the
// path-style path (/bucket or /bucket/key) and the query; virtual-hosted-style addressing is not
// recognised.
func Operation(svc Service, r *http.Request) string {
	switch svc {
	case Kinesis, DynamoDB:
		if t := r.Header.Get("X-Amz-Target"); t != "" {
			if i := strings.LastIndexByte(t, '.'); i >= 0 && i < len(t)-1 {
				return t[i+1:]
			}
			return Unknown
		}
		if op, ok := rpcV2Operation(r.URL.Path); ok {
			return op
		}
		return Unknown
	case S3:
		return s3Operation(r)
	}
	return Unknown
}

// rpcV2Operation parses a Smithy RPC v2 path: /service/<service>/operation/<operation>.
func rpcV2Operation(path string) (string, bool) {
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	if len(parts) >= 4 && parts[len(parts)-4] == "service" && parts[len(parts)-2] == "operation" && parts[len(parts)-1] != "" {
		return parts[len(parts)-1], true
	}
	return "", false
}

// isRPCV2 reports whether r uses the Smithy RPC v2 CBOR protocol.
func isRPCV2(r *http.Request) bool {
	return r.Header.Get("Smithy-Protocol") == "rpc-v2-cbor"
}

// s3Operation names an S3 call of path-style addressing.
func s3Operation(r *http.Request) string {
	path := strings.TrimPrefix(r.URL.EscapedPath(), "/")
	bucket, key, _ := strings.Cut(path, "/")
	q := r.URL.Query()
	has := func(k string) bool {
		if k == copySource {
			return r.Header.Get(copySource) != ""
		}
		_, ok := q[k]
		return ok
	}
	switch {
	case bucket == "":
		if r.Method == http.MethodGet {
			return "ListBuckets"
		}
		return Unknown
	case key == "":
		return s3BucketOperation(r.Method, has)
	}
	return s3Match(s3ObjectRules, r.Method, has)
}

// copySource in a rule's params stands for the X-Amz-Copy-Source header (a copy, not an upload).
const copySource = "X-Amz-Copy-Source"

// s3Rule names the operation of a request with method whose query has every parameter of params
// (space-separated; none: any query). In a list, the first rule that matches wins.
type s3Rule struct{ method, params, op string }

// s3ObjectRules name the calls on an object (/bucket/key).
var s3ObjectRules = []s3Rule{
	{http.MethodGet, "uploadId", "ListParts"},
	{http.MethodGet, "tagging", "GetObjectTagging"},
	{http.MethodGet, "acl", "GetObjectAcl"},
	{http.MethodGet, "attributes", "GetObjectAttributes"},
	{http.MethodGet, "retention", "GetObjectRetention"},
	{http.MethodGet, "legal-hold", "GetObjectLegalHold"},
	{http.MethodGet, "", "GetObject"},
	{http.MethodHead, "", "HeadObject"},
	{http.MethodPut, "partNumber uploadId " + copySource, "UploadPartCopy"},
	{http.MethodPut, "partNumber uploadId", "UploadPart"},
	{http.MethodPut, "tagging", "PutObjectTagging"},
	{http.MethodPut, "acl", "PutObjectAcl"},
	{http.MethodPut, "retention", "PutObjectRetention"},
	{http.MethodPut, "legal-hold", "PutObjectLegalHold"},
	{http.MethodPut, copySource, "CopyObject"},
	{http.MethodPut, "", "PutObject"},
	{http.MethodDelete, "uploadId", "AbortMultipartUpload"},
	{http.MethodDelete, "tagging", "DeleteObjectTagging"},
	{http.MethodDelete, "", "DeleteObject"},
	{http.MethodPost, "uploads", "CreateMultipartUpload"},
	{http.MethodPost, "uploadId", "CompleteMultipartUpload"},
	{http.MethodPost, "restore", "RestoreObject"},
	{http.MethodPost, "select", "SelectObjectContent"},
}

// s3BucketRules name the calls on a bucket (/bucket) without a subresource of
// s3BucketSubresources.
var s3BucketRules = []s3Rule{
	{http.MethodGet, "list-type", "ListObjectsV2"},
	{http.MethodGet, "versions", "ListObjectVersions"},
	{http.MethodGet, "uploads", "ListMultipartUploads"},
	{http.MethodGet, "location", "GetBucketLocation"},
	{http.MethodGet, "", "ListObjects"},
	{http.MethodHead, "", "HeadBucket"},
	{http.MethodPut, "", "CreateBucket"},
	{http.MethodDelete, "", "DeleteBucket"},
	{http.MethodPost, "delete", "DeleteObjects"},
}

// s3Match is the operation of the first rule that matches, else Unknown.
func s3Match(rules []s3Rule, method string, has func(string) bool) string {
next:
	for _, r := range rules {
		if r.method != method {
			continue
		}
		for _, p := range strings.Fields(r.params) {
			if !has(p) {
				continue next
			}
		}
		return r.op
	}
	return Unknown
}

// s3BucketSubresources maps a bucket subresource query parameter to the operation's noun:
// GET ?versioning is GetBucketVersioning, PUT ?versioning is PutBucketVersioning.
var s3BucketSubresources = []struct{ param, noun string }{
	{"notification", "BucketNotificationConfiguration"},
	{"versioning", "BucketVersioning"},
	{"lifecycle", "BucketLifecycleConfiguration"},
	{"policy", "BucketPolicy"},
	{"tagging", "BucketTagging"},
	{"cors", "BucketCors"},
	{"encryption", "BucketEncryption"},
	{"acl", "BucketAcl"},
	{"object-lock", "ObjectLockConfiguration"},
	{"replication", "BucketReplication"},
}

func s3BucketOperation(m string, has func(string) bool) string {
	for _, s := range s3BucketSubresources {
		if !has(s.param) {
			continue
		}
		switch m {
		case http.MethodGet:
			return "Get" + s.noun
		case http.MethodPut:
			return "Put" + s.noun
		case http.MethodDelete:
			if s.param == "lifecycle" {
				return "DeleteBucketLifecycle" // the one delete named differently
			}
			return "Delete" + s.noun
		}
		return Unknown
	}
	return s3Match(s3BucketRules, m, has)
}
