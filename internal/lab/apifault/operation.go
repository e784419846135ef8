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
	has := func(k string) bool { _, ok := q[k]; return ok }
	copySource := r.Header.Get("X-Amz-Copy-Source") != ""
	m := r.Method
	switch {
	case bucket == "":
		if m == http.MethodGet {
			return "ListBuckets"
		}
		return Unknown
	case key == "":
		return s3BucketOperation(m, has)
	}
	switch m {
	case http.MethodGet:
		switch {
		case has("uploadId"):
			return "ListParts"
		case has("tagging"):
			return "GetObjectTagging"
		case has("acl"):
			return "GetObjectAcl"
		case has("attributes"):
			return "GetObjectAttributes"
		case has("retention"):
			return "GetObjectRetention"
		case has("legal-hold"):
			return "GetObjectLegalHold"
		}
		return "GetObject"
	case http.MethodHead:
		return "HeadObject"
	case http.MethodPut:
		switch {
		case has("partNumber") && has("uploadId") && copySource:
			return "UploadPartCopy"
		case has("partNumber") && has("uploadId"):
			return "UploadPart"
		case has("tagging"):
			return "PutObjectTagging"
		case has("acl"):
			return "PutObjectAcl"
		case has("retention"):
			return "PutObjectRetention"
		case has("legal-hold"):
			return "PutObjectLegalHold"
		case copySource:
			return "CopyObject"
		}
		return "PutObject"
	case http.MethodDelete:
		switch {
		case has("uploadId"):
			return "AbortMultipartUpload"
		case has("tagging"):
			return "DeleteObjectTagging"
		}
		return "DeleteObject"
	case http.MethodPost:
		switch {
		case has("uploads"):
			return "CreateMultipartUpload"
		case has("uploadId"):
			return "CompleteMultipartUpload"
		case has("restore"):
			return "RestoreObject"
		case has("select"):
			return "SelectObjectContent"
		}
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
	switch m {
	case http.MethodGet:
		switch {
		case has("list-type"):
			return "ListObjectsV2"
		case has("versions"):
			return "ListObjectVersions"
		case has("uploads"):
			return "ListMultipartUploads"
		case has("location"):
			return "GetBucketLocation"
		}
		return "ListObjects"
	case http.MethodHead:
		return "HeadBucket"
	case http.MethodPut:
		return "CreateBucket"
	case http.MethodDelete:
		return "DeleteBucket"
	case http.MethodPost:
		if has("delete") {
			return "DeleteObjects"
		}
	}
	return Unknown
}
