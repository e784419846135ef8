package apifault

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"net/http"
	"strconv"
	"strings"
)

// reply is an injected error response.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// kinesisDataPlane are the Kinesis operations whose throttling error is
// ProvisionedThroughputExceededException (per-shard limits); the others are control-plane
// calls, throttled with LimitExceededException.
var kinesisDataPlane = map[string]bool{
	"PutRecord": true, "PutRecords": true, "GetRecords": true, "GetShardIterator": true, "SubscribeToShard": true,
}

// dynamoDataPlane are the DynamoDB operations on items, throttled with
// ProvisionedThroughputExceededException; table and account calls get ThrottlingException.
var dynamoDataPlane = map[string]bool{
	"GetItem": true, "PutItem": true, "UpdateItem": true, "DeleteItem": true, "Query": true, "Scan": true,
	"BatchGetItem": true, "BatchWriteItem": true, "TransactGetItems": true, "TransactWriteItems": true,
	"ExecuteStatement": true, "BatchExecuteStatement": true, "ExecuteTransaction": true,
}

// injectedNote ends every injected error message, so that logs tell injected from real errors.
const injectedNote = " (injected by apifault)"

// errorReply builds the error response AWS sends for a throttled (KindThrottle) or failed
// (KindServerError) call of op, in the protocol of the request: rpcV2 selects Smithy RPC v2
// CBOR for Kinesis and DynamoDB. id seeds the request id headers.
func errorReply(svc Service, op string, k Kind, rpcV2 bool, id [16]byte) reply {
	switch svc {
	case Kinesis:
		code, msg, status := "InternalFailure", "Internal service failure.", http.StatusInternalServerError
		if k == KindThrottle {
			status = http.StatusBadRequest
			if kinesisDataPlane[op] {
				code, msg = "ProvisionedThroughputExceededException", "Rate exceeded for shard in stream under account."
			} else {
				code, msg = "LimitExceededException", "Rate exceeded for stream under account."
			}
		}
		return jsonReply("application/x-amz-json-1.1", status, code, msg+injectedNote, rpcV2, id, false)
	case DynamoDB:
		// AWS names DynamoDB's own errors with the service namespace and generic throttling
		// with the Coral one; the SDK keeps what follows '#'.
		code, msg, status := "com.amazonaws.dynamodb.v20120810#InternalServerError", "Internal server error", http.StatusInternalServerError
		if k == KindThrottle {
			status = http.StatusBadRequest
			if dynamoDataPlane[op] {
				code, msg = "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
					"The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API."
			} else {
				code, msg = "com.amazon.coral.availability#ThrottlingException", "Rate of requests exceeds the allowed throughput."
			}
		}
		return jsonReply("application/x-amz-json-1.0", status, code, msg+injectedNote, rpcV2, id, true)
	default:
		code, msg, status := "InternalError", "We encountered an internal error. Please try again.", http.StatusInternalServerError
		if k == KindThrottle {
			code, msg, status = "SlowDown", "Please reduce your request rate.", http.StatusServiceUnavailable
		}
		return s3Reply(status, code, msg+injectedNote, id)
	}
}

// jsonReply is an awsJson1_0/1_1 error ({"__type": code, "message": msg}) or, with rpcV2, the
// same map in CBOR. crc adds DynamoDB's X-Amz-Crc32 of the body.
func jsonReply(contentType string, status int, code, msg string, rpcV2 bool, id [16]byte, crc bool) reply {
	h := http.Header{}
	h.Set("X-Amzn-RequestId", uuidOf(id))
	h.Set("X-Amz-Id-2", base64.StdEncoding.EncodeToString(append(id[:], id[:]...)))
	var body []byte
	if rpcV2 {
		h.Set("Content-Type", "application/cbor")
		h.Set("Smithy-Protocol", "rpc-v2-cbor")
		body = cborErrorMap(code, msg)
	} else {
		h.Set("Content-Type", contentType)
		body, _ = json.Marshal(struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}{code, msg})
	}
	if crc {
		h.Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(body)), 10))
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	return reply{status: status, header: h, body: body}
}

// s3Reply is S3's REST-XML error document.
func s3Reply(status int, code, msg string, id [16]byte) reply {
	reqID := strings.ToUpper(hex.EncodeToString(id[:8]))
	hostID := base64.StdEncoding.EncodeToString(append(id[:], id[:]...))
	body := []byte(fmt.Sprintf("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"+
		"<Error><Code>%s</Code><Message>%s</Message><RequestId>%s</RequestId><HostId>%s</HostId></Error>",
		code, msg, reqID, hostID))
	h := http.Header{}
	h.Set("Content-Type", "application/xml")
	h.Set("X-Amz-Request-Id", reqID)
	h.Set("X-Amz-Id-2", hostID)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	return reply{status: status, header: h, body: body}
}

// uuidOf formats id as a version 4 UUID, the form of Kinesis and DynamoDB request ids.
func uuidOf(id [16]byte) string {
	id[6] = id[6]&0x0f | 0x40
	id[8] = id[8]&0x3f | 0x80
	s := hex.EncodeToString(id[:])
	return s[:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
}

// cborErrorMap encodes {"__type": code, "message": msg} in CBOR (RFC 8949): a map of two
// definite-length text strings.
func cborErrorMap(code, msg string) []byte {
	b := []byte{0xa2}
	for _, s := range []string{"__type", code, "message", msg} {
		b = cborText(b, s)
	}
	return b
}

func cborText(b []byte, s string) []byte {
	const major = 3 << 5
	switch n := len(s); {
	case n < 24:
		b = append(b, major|byte(n))
	case n < 1<<8:
		b = append(b, major|24, byte(n))
	case n < 1<<16:
		b = append(b, major|25, byte(n>>8), byte(n))
	default:
		b = append(b, major|26, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(b, s...)
}
