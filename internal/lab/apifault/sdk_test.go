package apifault

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/encoding/cbor"
)

// fakeUpstream answers every call with an empty success and counts the calls.
type fakeUpstream struct {
	calls atomic.Int64
	srv   *httptest.Server
}

func newFakeUpstream(t *testing.T) *fakeUpstream {
	t.Helper()
	f := &fakeUpstream{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.calls.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		if r.Header.Get("X-Amz-Target") != "" {
			w.Header().Set("Content-Type", "application/x-amz-json-1.0")
			_, _ = w.Write([]byte("{}"))
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

var fakeConfig = aws.Config{
	Region: "us-east-1",
	Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test", Source: "test"}, nil
	}),
}

// TestSDKClassifiesInjectedErrors puts the proxy in front of a fake upstream and shows, with the
// real SDK clients making a single attempt, that every injected fault reaches the caller as
// AWS's own would: the modeled error type, the retryer's throttle and retry classification and
// the request id. Faults other than lost responses never reach the upstream.
func TestSDKClassifiesInjectedErrors(t *testing.T) {
	ctx := context.Background()
	type call func(context.Context, sdkClients) error
	putRecords := func(ctx context.Context, c sdkClients) error {
		_, err := c.Kinesis.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("s"),
			Records: []ktypes.PutRecordsRequestEntry{{Data: []byte("x"), PartitionKey: aws.String("k")}}})
		return err
	}
	listShards := func(ctx context.Context, c sdkClients) error {
		_, err := c.Kinesis.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String("s")})
		return err
	}
	putItem := func(ctx context.Context, c sdkClients) error {
		_, err := c.DynamoDB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("t"),
			Item: map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "k"}}})
		return err
	}
	describeTable := func(ctx context.Context, c sdkClients) error {
		_, err := c.DynamoDB.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("t")})
		return err
	}
	getObject := func(ctx context.Context, c sdkClients) error {
		_, err := c.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("b"), Key: aws.String("k")})
		return err
	}
	headObject := func(ctx context.Context, c sdkClients) error {
		_, err := c.S3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("b"), Key: aws.String("k")})
		return err
	}
	putObject := func(ctx context.Context, c sdkClients) error {
		_, err := c.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("b"), Key: aws.String("k"), Body: strings.NewReader("x")})
		return err
	}
	cases := []struct {
		name      string
		svc       Service
		op        string
		kind      Kind
		call      call
		as        func(error) bool // the modeled error type, when there is one
		code      string
		throttle  bool
		noReqID   bool
		upstreams int64 // calls the upstream must see
	}{
		{name: "kinesis PutRecords throttled", svc: Kinesis, op: "PutRecords", kind: KindThrottle, call: putRecords,
			as: isType[*ktypes.ProvisionedThroughputExceededException], code: "ProvisionedThroughputExceededException", throttle: true},
		{name: "kinesis ListShards throttled", svc: Kinesis, op: "ListShards", kind: KindThrottle, call: listShards,
			as: isType[*ktypes.LimitExceededException], code: "LimitExceededException", throttle: true},
		{name: "kinesis PutRecords 500", svc: Kinesis, op: "PutRecords", kind: KindServerError, call: putRecords, code: "InternalFailure"},
		{name: "kinesis PutRecords reset", svc: Kinesis, op: "PutRecords", kind: KindReset, call: putRecords, noReqID: true},
		{name: "kinesis PutRecords lost", svc: Kinesis, op: "PutRecords", kind: KindLost, call: putRecords, noReqID: true, upstreams: 1},
		{name: "dynamodb PutItem throttled", svc: DynamoDB, op: "PutItem", kind: KindThrottle, call: putItem,
			as: isType[*ddbtypes.ProvisionedThroughputExceededException], code: "ProvisionedThroughputExceededException", throttle: true},
		{name: "dynamodb DescribeTable throttled", svc: DynamoDB, op: "DescribeTable", kind: KindThrottle, call: describeTable,
			as: isType[*ddbtypes.ThrottlingException], code: "ThrottlingException", throttle: true},
		{name: "dynamodb PutItem 500", svc: DynamoDB, op: "PutItem", kind: KindServerError, call: putItem,
			as: isType[*ddbtypes.InternalServerError], code: "InternalServerError"},
		{name: "dynamodb PutItem reset", svc: DynamoDB, op: "PutItem", kind: KindReset, call: putItem, noReqID: true},
		{name: "dynamodb PutItem lost", svc: DynamoDB, op: "PutItem", kind: KindLost, call: putItem, noReqID: true, upstreams: 1},
		{name: "s3 GetObject slow down", svc: S3, op: "GetObject", kind: KindThrottle, call: getObject, code: "SlowDown", throttle: true},
		{name: "s3 PutObject slow down", svc: S3, op: "PutObject", kind: KindThrottle, call: putObject, code: "SlowDown", throttle: true},
		// A HEAD response has no body, on AWS too: the SDK names the error after the status
		// and retries it for the 503, but cannot tell it is a throttle.
		{name: "s3 HeadObject slow down", svc: S3, op: "HeadObject", kind: KindThrottle, call: headObject, code: "ServiceUnavailable"},
		{name: "s3 GetObject 500", svc: S3, op: "GetObject", kind: KindServerError, call: getObject, code: "InternalError"},
		{name: "s3 PutObject reset", svc: S3, op: "PutObject", kind: KindReset, call: putObject, noReqID: true},
		{name: "s3 PutObject lost", svc: S3, op: "PutObject", kind: KindLost, call: putObject, noReqID: true, upstreams: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			up := newFakeUpstream(t)
			p := startProxy(t, Config{Service: tc.svc, Upstream: up.srv.URL, Seed: 1, Ops: map[string]Rates{tc.op: ratesOf(tc.kind)}})
			var c sdkClients
			switch tc.svc {
			case S3:
				c = newClients(fakeConfig, p.URL(), "", "")
			case Kinesis:
				c = newClients(fakeConfig, "", p.URL(), "")
			case DynamoDB:
				c = newClients(fakeConfig, "", "", p.URL())
			}
			err := tc.call(ctx, c)
			if err == nil {
				t.Fatal("call succeeded, want the injected error")
			}
			got := classify(err)
			if !got.retryable {
				t.Errorf("SDK does not retry %v", err)
			}
			if got.throttle != tc.throttle {
				t.Errorf("SDK throttle classification %v, want %v: %v", got.throttle, tc.throttle, err)
			}
			if got.code != tc.code {
				t.Errorf("error code %q, want %q: %v", got.code, tc.code, err)
			}
			if tc.as != nil && !tc.as(err) {
				t.Errorf("error %T is not the modeled type: %v", err, err)
			}
			if !tc.noReqID && got.requestID == "" {
				t.Errorf("no request id on %v", err)
			}
			if n := up.calls.Load(); n != tc.upstreams {
				t.Errorf("upstream saw %d calls, want %d", n, tc.upstreams)
			}
			if n := countOf(p, tc.op, tc.kind); n != 1 {
				t.Errorf("counted %d %s of %s, want 1: %+v", n, tc.kind, tc.op, p.Counts())
			}
		})
	}
}

func isType[T error](err error) bool {
	var target T
	return errors.As(err, &target)
}

func ratesOf(k Kind) Rates {
	switch k {
	case KindThrottle:
		return Rates{Throttle: 1}
	case KindServerError:
		return Rates{ServerError: 1}
	case KindReset:
		return Rates{Reset: 1}
	case KindLost:
		return Rates{Lost: 1}
	}
	return Rates{}
}

// TestForwardKeepsHostAndBody shows what keeps SigV4 valid through the proxy: the upstream sees
// the Host the client addressed (the proxy) and the body byte for byte, streamed with its
// encoding (aws-chunked content, chunked transfer) untouched.
func TestForwardKeepsHostAndBody(t *testing.T) {
	type seen struct {
		host, contentEncoding, decoded string
		transferEncoding               []string
		contentLength                  int64
		sum                            [32]byte
	}
	var (
		mu  sync.Mutex
		got seen
	)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		_, _ = io.Copy(h, r.Body)
		mu.Lock()
		got = seen{host: r.Host, contentEncoding: r.Header.Get("Content-Encoding"), decoded: r.Header.Get("X-Amz-Decoded-Content-Length"),
			transferEncoding: r.TransferEncoding, contentLength: r.ContentLength}
		copy(got.sum[:], h.Sum(nil))
		mu.Unlock()
		w.Header().Set("ETag", `"x"`)
	}))
	t.Cleanup(up.Close)
	p := startProxy(t, Config{Service: S3, Upstream: up.URL})

	body := bytes.Repeat([]byte("10000;chunk-signature=abc\r\n0123456789abcdef\r\n"), 200000) // ~9 MB
	want := sha256.Sum256(body)
	cases := []struct {
		name    string
		chunked bool
	}{{name: "content length"}, {name: "chunked transfer", chunked: true}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var r io.Reader = bytes.NewReader(body)
			if tc.chunked {
				r = io.MultiReader(r) // hides the length: the client sends it chunked
			}
			req, err := http.NewRequest(http.MethodPut, p.URL()+"/b/key", r)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Encoding", "aws-chunked")
			req.Header.Set("X-Amz-Decoded-Content-Length", "123")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || resp.Header.Get("ETag") != `"x"` {
				t.Fatalf("status %s, ETag %q", resp.Status, resp.Header.Get("ETag"))
			}
			mu.Lock()
			defer mu.Unlock()
			if got.host != p.Addr() {
				t.Errorf("upstream saw Host %q, want the proxy's %q (what the client signed)", got.host, p.Addr())
			}
			if got.sum != want {
				t.Error("upstream saw a different body")
			}
			if got.contentEncoding != "aws-chunked" || got.decoded != "123" {
				t.Errorf("headers changed: Content-Encoding %q, X-Amz-Decoded-Content-Length %q", got.contentEncoding, got.decoded)
			}
			if tc.chunked != (len(got.transferEncoding) > 0) || (!tc.chunked && got.contentLength != int64(len(body))) {
				t.Errorf("framing changed: transfer encoding %v, content length %d", got.transferEncoding, got.contentLength)
			}
		})
	}
}

// TestLatencyOnly shows the benchmark mode: every call is delayed, none is failed.
func TestLatencyOnly(t *testing.T) {
	up := newFakeUpstream(t)
	const base = 30 * time.Millisecond
	p := startProxy(t, Config{Service: DynamoDB, Upstream: up.srv.URL, LatencyOnly: true,
		Latency: Latency{Base: base, TailP: 1, TailMin: time.Millisecond, Max: time.Second}})
	c := newClients(fakeConfig, "", "", p.URL())
	for range 5 {
		start := time.Now()
		if _, err := c.DynamoDB.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String("t"),
			Key: map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "k"}}}); err != nil {
			t.Fatalf("GetItem: %v", err)
		}
		if d := time.Since(start); d < base {
			t.Errorf("call took %s, less than the base latency %s", d, base)
		}
	}
	if n := countOf(p, "GetItem", KindNone); n != 5 {
		t.Errorf("forwarded %d calls, want 5: %+v", n, p.Counts())
	}
	if n := countOf(p, "GetItem", KindSlow); n != 5 {
		t.Errorf("counted %d tails, want 5 (TailP 1)", n)
	}
}

// TestOpLatency shows latency set per operation: the operation with an entry is delayed by its
// own latency, the others by Config.Latency (here none).
func TestOpLatency(t *testing.T) {
	up := newFakeUpstream(t)
	const base = 30 * time.Millisecond
	p := startProxy(t, Config{Service: DynamoDB, Upstream: up.srv.URL, LatencyOnly: true,
		OpLatency: map[string]Latency{"GetItem": {Base: base, TailP: 1, TailMin: time.Millisecond, Max: time.Second}}})
	c := newClients(fakeConfig, "", "", p.URL())
	key := map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "k"}}
	for range 3 {
		start := time.Now()
		if _, err := c.DynamoDB.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String("t"), Key: key}); err != nil {
			t.Fatalf("GetItem: %v", err)
		}
		if d := time.Since(start); d < base {
			t.Errorf("GetItem took %s, less than its latency %s", d, base)
		}
		if _, err := c.DynamoDB.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String("t"), Item: key}); err != nil {
			t.Fatalf("PutItem: %v", err)
		}
	}
	if n := countOf(p, "GetItem", KindSlow); n != 3 {
		t.Errorf("counted %d GetItem tails, want 3 (its TailP 1): %+v", n, p.Counts())
	}
	if n := countOf(p, "PutItem", KindSlow); n != 0 {
		t.Errorf("counted %d PutItem tails, want 0 (no latency of its own, none by default): %+v", n, p.Counts())
	}
	if n := countOf(p, "PutItem", KindNone); n != 3 {
		t.Errorf("forwarded %d PutItem calls, want 3: %+v", n, p.Counts())
	}
}

// TestCBORError shows that an RPC v2 CBOR call gets its error as a CBOR map the protocol's
// decoder reads.
func TestCBORError(t *testing.T) {
	rep := errorReply(Kinesis, "PutRecords", KindThrottle, true, [16]byte{1})
	if rep.header.Get("Smithy-Protocol") != "rpc-v2-cbor" || rep.header.Get("Content-Type") != "application/cbor" {
		t.Errorf("headers %v", rep.header)
	}
	v, err := cbor.Decode(rep.body)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	m, ok := v.(cbor.Map)
	if !ok {
		t.Fatalf("decoded %T, want a map", v)
	}
	if typ, _ := m["__type"].(cbor.String); typ != "ProvisionedThroughputExceededException" {
		t.Errorf("__type %q", typ)
	}
	if msg, _ := m["message"].(cbor.String); !strings.Contains(string(msg), "Rate exceeded") {
		t.Errorf("message %q", msg)
	}
	long := strings.Repeat("x", 300)
	v, err = cbor.Decode(cborErrorMap("T", long))
	if err != nil {
		t.Fatalf("decode long message: %v", err)
	}
	if msg := v.(cbor.Map)["message"].(cbor.String); string(msg) != long {
		t.Error("long message changed")
	}
}
