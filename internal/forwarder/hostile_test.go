package forwarder

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/shardline/shardline/internal/bucket"
	"github.com/shardline/shardline/internal/envelope"
	"github.com/shardline/shardline/internal/lab/testkit"
	"github.com/shardline/shardline/internal/sequencer"
)

// s3Record is one S3 event record as the webhook receives it; key is sent as given (already
// URL-encoded where a case wants it).
func s3Record(eventName, key, seq string, edit func(obj, rec map[string]any)) map[string]any {
	obj := map[string]any{"key": key, "size": 10, "eTag": "abc"}
	if seq != "" {
		obj["sequencer"] = seq
	}
	rec := map[string]any{
		"eventVersion": "2.1", "eventSource": "aws:s3", "eventName": eventName,
		"eventTime": "2024-05-14T09:21:07.512Z",
		"s3":        map[string]any{"bucket": map[string]any{"name": "in-bucket"}, "object": obj},
	}
	if edit != nil {
		edit(obj, rec)
	}
	return rec
}

func notificationBody(t testing.TB, recs ...map[string]any) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{"Records": recs})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// countingBody records how many bytes the webhook read from a request body.
type countingBody struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// TestWebhookHostileInput sends the forwarder-side cases of issue #4 through the webhook with
// the real notification parser: each gets the documented status, is counted under a metric, and
// only valid events (never a partial body) reach Kinesis. Refused requests have no side effects:
// nothing parsed, nothing written, and for 401/405/413-by-length/415 not one body byte read.
func TestWebhookHostileInput(t *testing.T) {
	const token = "correct horse battery staple"
	const limit = 64 << 10
	auth := map[string]string{"Authorization": "Bearer " + token, "Content-Type": "application/json"}
	good := notificationBody(t, s3Record("ObjectCreated:Put", "a.jpg", "0A", nil))
	padTo := func(body string, n int) string { return body + strings.Repeat(" ", n-len(body)) }
	longKey := strings.Repeat("k", envelope.MaxKeyLen)
	tests := []struct {
		name       string
		header     map[string]string
		body       string
		chunked    bool // no Content-Length: only the MaxBytesReader sees the size
		lyingLen   int64
		wantStatus int
		result     string             // requests_total label
		wantKeys   []string           // keys of the events Kinesis received, in order
		wantSeqs   []string           // their normalised sequencers, when checked
		skipped    map[string]float64 // events_skipped_total by reason
		malformed  float64
		noRead     bool // the body must not have been read at all
	}{
		// Transport and framing.
		{name: "not JSON", header: auth, body: "<Event>s3:ObjectCreated:Put</Event>", wantStatus: 400, result: resultMalformed, malformed: 1},
		{name: "truncated JSON", header: auth, body: good[:len(good)/2], wantStatus: 400, result: resultMalformed, malformed: 1},
		{name: "empty body", header: auth, body: "", wantStatus: 400, result: resultMalformed, malformed: 1},
		{name: "binary body", header: auth, body: "\x89PNG\r\n\x1a\n\x00\x00", wantStatus: 400, result: resultMalformed, malformed: 1},
		{name: "deep nesting", header: auth, body: strings.Repeat("[", 30_000) + strings.Repeat("]", 30_000), wantStatus: 400, result: resultMalformed, malformed: 1},
		{name: "deep nesting inside Records", header: auth, body: `{"Records":` + strings.Repeat("[", 30_000) + strings.Repeat("]", 30_000) + `}`,
			wantStatus: 400, result: resultMalformed, malformed: 1},
		{name: "body exactly at the limit", header: auth, body: padTo(good, limit), wantStatus: 200, result: resultForwarded, wantKeys: []string{"a.jpg"}},
		{name: "body one byte over the limit", header: auth, body: padTo(good, limit+1), wantStatus: 413, result: resultTooLarge, noRead: true},
		{name: "body over the limit, chunked", header: auth, body: padTo(good, 4*limit), chunked: true, wantStatus: 413, result: resultTooLarge},
		{name: "huge declared Content-Length", header: auth, body: good, lyingLen: 1 << 40, wantStatus: 413, result: resultTooLarge, noRead: true},
		{name: "XML content type", header: map[string]string{"Authorization": "Bearer " + token, "Content-Type": "application/xml"},
			body: good, wantStatus: 415, result: resultUnsupportedType, noRead: true},
		{name: "form content type", header: map[string]string{"Authorization": "Bearer " + token, "Content-Type": "application/x-www-form-urlencoded"},
			body: good, wantStatus: 415, result: resultUnsupportedType, noRead: true},
		{name: "multipart content type", header: map[string]string{"Authorization": "Bearer " + token, "Content-Type": "multipart/form-data; boundary=x"},
			body: good, wantStatus: 415, result: resultUnsupportedType, noRead: true},
		{name: "JSON with charset", header: map[string]string{"Authorization": "Bearer " + token, "Content-Type": "application/json; charset=utf-8"},
			body: good, wantStatus: 200, result: resultForwarded, wantKeys: []string{"a.jpg"}},

		// Authentication: 401 and no side effects.
		{name: "no token", header: map[string]string{"Content-Type": "application/json"}, body: good, wantStatus: 401, result: resultUnauthorized, noRead: true},
		{name: "wrong token", header: map[string]string{"Authorization": "Bearer wrong"}, body: good, wantStatus: 401, result: resultUnauthorized, noRead: true},
		{name: "token with a suffix", header: map[string]string{"Authorization": "Bearer " + token + "x"}, body: good, wantStatus: 401, result: resultUnauthorized, noRead: true},
		{name: "token prefix", header: map[string]string{"Authorization": "Bearer " + token[:len(token)-1]}, body: good, wantStatus: 401, result: resultUnauthorized, noRead: true},
		{name: "token as Basic credentials", header: map[string]string{"Authorization": "Basic " + token}, body: good, wantStatus: 401, result: resultUnauthorized, noRead: true},
		{name: "empty bearer", header: map[string]string{"Authorization": "Bearer "}, body: good, wantStatus: 401, result: resultUnauthorized, noRead: true},
		{name: "token in the query string is not a token", header: map[string]string{}, body: good, wantStatus: 401, result: resultUnauthorized, noRead: true},

		// Records: skipped with a reason, the rest forwarded.
		{name: "s3:TestEvent", header: auth, body: `{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2024-05-14T09:00:00Z","Bucket":"in-bucket"}`,
			wantStatus: 200, result: resultForwarded, skipped: map[string]float64{"test_event": 1}},
		{name: "keys: spaces, '+', %-escapes, unicode, 1,024 bytes", header: auth, body: notificationBody(t,
			s3Record("ObjectCreated:Put", "my+photo%2B1.jpg", "01", nil),
			s3Record("ObjectCreated:Put", "dir%2Fa%20b.jpg", "02", nil),
			s3Record("ObjectCreated:Put", "%E2%9C%93+%C3%A9t%C3%A9.png", "03", nil),
			s3Record("ObjectCreated:Put", longKey, "04", nil)),
			wantStatus: 200, result: resultForwarded, wantKeys: []string{"my photo+1.jpg", "dir/a b.jpg", "✓ été.png", longKey}},
		{name: "keys: invalid escapes and over 1,024 bytes", header: auth, body: notificationBody(t,
			s3Record("ObjectCreated:Put", "bad%zz.jpg", "01", nil),
			s3Record("ObjectCreated:Put", "bad%E2%9C", "02", nil),
			s3Record("ObjectCreated:Put", longKey+"k", "03", nil),
			s3Record("ObjectCreated:Put", "ok.jpg", "04", nil)),
			wantStatus: 200, result: resultForwarded, wantKeys: []string{"ok.jpg"},
			skipped: map[string]float64{"invalid_key": 2, "invalid_record": 1}},
		{name: "sequencers: odd length, lower case, non-hex, missing", header: auth, body: notificationBody(t,
			s3Record("ObjectCreated:Put", "odd.jpg", "ABC", nil),
			s3Record("ObjectCreated:Put", "lower.jpg", "0055aed6dcd90281e5", nil),
			s3Record("ObjectCreated:Put", "nonhex.jpg", "0055XYZ", nil),
			s3Record("ObjectCreated:Put", "none.jpg", "", nil)),
			wantStatus: 200, result: resultForwarded, wantKeys: []string{"odd.jpg", "lower.jpg"},
			wantSeqs: []string{mustNormalize(t, "ABC"), mustNormalize(t, "0055AED6DCD90281E5")},
			skipped:  map[string]float64{"invalid_sequencer": 1, "no_sequencer": 1}},
		{name: "missing fields, unknown eventName, new eventVersion", header: auth, body: notificationBody(t,
			s3Record("ObjectCreated:Put", "", "01", nil),
			s3Record("ObjectCreated:Put", "nobucket.jpg", "02", func(_, rec map[string]any) { delete(rec["s3"].(map[string]any), "bucket") }),
			s3Record("ObjectTeleported:Beam", "x.jpg", "03", nil),
			s3Record("ObjectCreated:Put", "v3.jpg", "04", func(_, rec map[string]any) { rec["eventVersion"] = "3.0" }),
			s3Record("ObjectCreated:Put", "v29.jpg", "05", func(_, rec map[string]any) { rec["eventVersion"] = "2.9" })),
			wantStatus: 200, result: resultForwarded, wantKeys: []string{"v29.jpg"},
			skipped: map[string]float64{"invalid_record": 2, "unknown_event_name": 1, "unsupported_event_version": 1}},
		{name: "fields that would exceed a Kinesis record are skipped, not sent", header: auth, body: notificationBody(t,
			s3Record("ObjectCreated:Put", "huge.jpg", "01", func(obj, _ map[string]any) { obj["versionId"] = strings.Repeat("v", 40<<10) }),
			s3Record("ObjectCreated:Put", "ok.jpg", "02", nil)),
			wantStatus: 200, result: resultForwarded, wantKeys: []string{"ok.jpg"}, skipped: map[string]float64{"invalid_record": 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kin := &fakeKinesis{}
			w, reg, _ := newTestWriter(t, kin, nil)
			f, err := New(Config{Writer: w, Token: token, MaxBodyBytes: limit, Registerer: reg, Logger: testLogger(t)})
			if err != nil {
				t.Fatal(err)
			}
			body := &countingBody{r: strings.NewReader(tc.body)}
			var r io.Reader = body
			target := "/webhook"
			if tc.name == "token in the query string is not a token" {
				target += "?token=" + url.QueryEscape(token)
			}
			req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, target, r)
			req.ContentLength = int64(len(tc.body))
			switch {
			case tc.chunked:
				req.ContentLength = -1
			case tc.lyingLen != 0:
				req.ContentLength = tc.lyingLen
			}
			rec := serve(t, f, req, tc.header, tc.wantStatus)
			if tc.noRead && body.n.Load() != 0 {
				t.Errorf("webhook read %d body bytes of a refused request", body.n.Load())
			}
			var keys, seqs []string
			for _, in := range kin.sent() {
				for _, ev := range decodeRecords(t, in) {
					keys, seqs = append(keys, ev.Key), append(seqs, ev.Sequencer)
				}
				for _, r := range in.Records {
					if pk := aws.ToString(r.PartitionKey); len(pk) > envelope.MaxPartitionKeyLen {
						t.Errorf("partition key of %d bytes", len(pk))
					}
				}
			}
			if fmt.Sprint(keys) != fmt.Sprint(tc.wantKeys) && len(keys)+len(tc.wantKeys) > 0 {
				t.Errorf("Kinesis received keys %q, want %q", keys, tc.wantKeys)
			}
			if tc.wantSeqs != nil && fmt.Sprint(seqs) != fmt.Sprint(tc.wantSeqs) {
				t.Errorf("sequencers %q, want %q", seqs, tc.wantSeqs)
			}
			if tc.wantStatus != 200 && len(kin.sent()) != 0 {
				t.Errorf("refused request made %d PutRecords calls", len(kin.sent()))
			}
			if tc.wantStatus == 200 {
				assertJSON(t, rec.Body.Bytes(), fmt.Sprintf(`{"forwarded":%d,"skipped":%d}`, len(tc.wantKeys), int(sum(tc.skipped))))
			}
			assertCounter(t, reg, "shardline_forwarder_requests_total", map[string]string{"result": tc.result}, 1)
			assertCounter(t, reg, "shardline_forwarder_malformed_total", nil, tc.malformed)
			assertSkips(t, reg, tc.skipped)
		})
	}
}

func sum(m map[string]float64) float64 {
	s := 0.0
	for _, v := range m {
		s += v
	}
	return s
}

func mustNormalize(t testing.TB, s string) string {
	t.Helper()
	n, err := sequencer.Normalize(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// assertSkips checks events_skipped_total has exactly the wanted series: each wanted reason's
// count, and no other reason counted.
func assertSkips(t *testing.T, reg *prometheus.Registry, want map[string]float64) {
	t.Helper()
	const name = "shardline_forwarder_events_skipped_total"
	total := 0.0
	for reason, n := range want {
		total += n
		assertCounter(t, reg, name, map[string]string{"reason": reason}, n)
	}
	if got := testkit.Metric(t, reg, name); got != total {
		t.Errorf("%s = %v over all reasons, want %v: a reason other than %v was counted", name, got, total, want)
	}
}

// TestAuthorized checks the token comparison: exact match only, as "Bearer <token>" (any case of
// the scheme, surrounding spaces ignored) or as the bare header value.
func TestAuthorized(t *testing.T) {
	const token = "s3cr3t"
	tests := []struct {
		name   string
		token  string
		header string
		want   bool
	}{
		{"no token configured", "", "", true},
		{"no token configured, any header", "", "Bearer whatever", true},
		{"bearer", token, "Bearer " + token, true},
		{"bearer lower case", token, "bearer " + token, true},
		{"bearer with extra spaces", token, "Bearer   " + token + " ", true},
		{"bare", token, token, true},
		{"missing", token, "", false},
		{"wrong", token, "Bearer s3cr3T", false},
		{"prefix", token, "Bearer s3cr3", false},
		{"longer", token, "Bearer " + token + token, false},
		{"other scheme", token, "Basic " + token, false},
		{"scheme only", token, "Bearer", false},
		{"NUL appended", token, "Bearer " + token + "\x00", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &Forwarder{token: tc.token}
			if got := f.authorized(tc.header); got != tc.want {
				t.Fatalf("authorized(%q) = %v, want %v", tc.header, got, tc.want)
			}
		})
	}
}

// TestEqualSecretIsLengthIndependent pins the constant-time construction: the comparison runs on
// fixed-size digests, so neither a differing length nor a matching prefix returns early.
func TestEqualSecretIsLengthIndependent(t *testing.T) {
	const want = "0123456789abcdef"
	for _, got := range []string{"", "0", want[:15], want + "0", strings.Repeat("x", 1<<16)} {
		if equalSecret(got, want) {
			t.Errorf("equalSecret(%q) = true", got)
		}
	}
	if !equalSecret(want, want) {
		t.Error("equalSecret(want, want) = false")
	}
	if testing.AllocsPerRun(100, func() { equalSecret(want[:15], want) }) != 0 {
		t.Error("equalSecret allocates; it should hash both values in place")
	}
}

// TestWebhookTrickledBodyTimesOut shows a client that sends headers and then trickles (or stops
// sending) the body cannot hold a request open: it gets 408 after BodyReadTimeout, and nothing
// is forwarded.
func TestWebhookTrickledBodyTimesOut(t *testing.T) {
	kin := &fakeKinesis{}
	w, reg, _ := newTestWriter(t, kin, nil)
	f, err := New(Config{Writer: w, BodyReadTimeout: 300 * time.Millisecond, Registerer: reg, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(f.Webhook())
	t.Cleanup(srv.Close)

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	start := time.Now()
	fmt.Fprintf(conn, "POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"Records\":[")
	if err := conn.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no response to a stalled body: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("status %d, want 408: %s", resp.StatusCode, b)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("answered after %v", d)
	}
	if n := len(kin.sent()); n != 0 {
		t.Errorf("%d PutRecords calls", n)
	}
	assertCounter(t, reg, "shardline_forwarder_requests_total", map[string]string{"result": resultReadTimeout}, 1)
}

// TestWebhookSNSHostile posts SNS messages to the webhook: only a message signed (v1 or v2) with
// the certificate at an https SNS SigningCertURL, from an allow-listed topic, is used; forged,
// re-signed, unsigned, foreign-topic and foreign-certificate-URL messages are rejected with a
// reason, counted, and write nothing. The certificate URL is fetched only after every cheap check
// passed, through the injected fetcher (no network).
func TestWebhookSNSHostile(t *testing.T) {
	const token = "correct horse battery staple"
	real, attacker := testSigners()
	s3Put := notificationBody(t, s3Record("ObjectCreated:Put", "a.jpg", "0A", nil))
	s3Delete := notificationBody(t, s3Record("ObjectRemoved:Delete", "a.jpg", "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF", nil))
	foreign := notificationBody(t, s3Record("ObjectCreated:Put", "a.jpg", "0A", func(_, rec map[string]any) {
		rec["s3"].(map[string]any)["bucket"] = map[string]any{"name": "someone-elses"}
	}))
	signed := func(s *snsSigner, m map[string]any) map[string]any { s.sign(t, m); return m }
	edit := func(m map[string]any, f func(map[string]any)) map[string]any { f(m); return m }
	snsHeader := func(typ string) map[string]string {
		return map[string]string{SNSMessageTypeHeader: typ, "Content-Type": "text/plain; charset=UTF-8"}
	}
	withToken := map[string]string{"Authorization": "Bearer " + token, "Content-Type": "application/json"}

	tests := []struct {
		name       string
		header     map[string]string
		msg        map[string]any
		topics     []string // nil: testTopic
		fetchFails bool
		wantStatus int
		reason     string   // sns_rejected_total label; "" when accepted
		wantKeys   []string // keys written to Kinesis
		refused    string   // events_refused_total label, when one event is refused
		fetches    []string // URLs the fetcher was asked for
	}{
		{name: "signed v1 notification", header: snsHeader("Notification"), msg: signed(real, snsNotificationMsg(s3Put, "1")),
			wantStatus: 200, wantKeys: []string{"a.jpg"}, fetches: []string{testCertURL}},
		{name: "signed v2 notification", header: snsHeader("Notification"), msg: signed(real, snsNotificationMsg(s3Put, "2")),
			wantStatus: 200, wantKeys: []string{"a.jpg"}, fetches: []string{testCertURL}},
		{name: "signed v2 notification without Subject", header: snsHeader("Notification"),
			msg:        signed(real, edit(snsNotificationMsg(s3Put, "2"), func(m map[string]any) { delete(m, "Subject") })),
			wantStatus: 200, wantKeys: []string{"a.jpg"}, fetches: []string{testCertURL}},
		{name: "signed, posted with the token and no SNS header", header: withToken, msg: signed(real, snsNotificationMsg(s3Put, "2")),
			wantStatus: 200, wantKeys: []string{"a.jpg"}, fetches: []string{testCertURL}},
		{name: "signed, from an allowed topic, for a foreign bucket", header: snsHeader("Notification"), msg: signed(real, snsNotificationMsg(foreign, "2")),
			wantStatus: 200, refused: RefusedForeignBucket, fetches: []string{testCertURL}},

		{name: "forged: Message replaced after signing", header: snsHeader("Notification"),
			msg:        edit(signed(real, snsNotificationMsg(s3Put, "2")), func(m map[string]any) { m["Message"] = s3Delete }),
			wantStatus: 403, reason: SNSRejectBadSignature, fetches: []string{testCertURL}},
		{name: "forged: Subject added after signing", header: snsHeader("Notification"),
			msg: edit(signed(real, edit(snsNotificationMsg(s3Put, "2"), func(m map[string]any) { delete(m, "Subject") })),
				func(m map[string]any) { m["Subject"] = "x" }),
			wantStatus: 403, reason: SNSRejectBadSignature, fetches: []string{testCertURL}},
		{name: "forged: v2 signature presented as v1", header: snsHeader("Notification"),
			msg:        edit(signed(real, snsNotificationMsg(s3Put, "2")), func(m map[string]any) { m["SignatureVersion"] = "1" }),
			wantStatus: 403, reason: SNSRejectBadSignature, fetches: []string{testCertURL}},
		{name: "re-signed by another key, SNS's certificate URL", header: snsHeader("Notification"), msg: signed(attacker, snsNotificationMsg(s3Delete, "2")),
			wantStatus: 403, reason: SNSRejectBadSignature, fetches: []string{testCertURL}},
		{name: "re-signed, certificate on another host", header: snsHeader("Notification"),
			msg:        signed(attacker, edit(snsNotificationMsg(s3Delete, "2"), func(m map[string]any) { m["SigningCertURL"] = "https://evil.example/SimpleNotificationService-x.pem" })),
			wantStatus: 403, reason: SNSRejectCertURL},
		{name: "re-signed, certificate on a look-alike host", header: snsHeader("Notification"),
			msg: signed(attacker, edit(snsNotificationMsg(s3Delete, "2"), func(m map[string]any) {
				m["SigningCertURL"] = "https://sns.us-east-1.amazonaws.com.evil.example/SimpleNotificationService-x.pem"
			})),
			wantStatus: 403, reason: SNSRejectCertURL},
		{name: "certificate over http", header: snsHeader("Notification"),
			msg: signed(real, edit(snsNotificationMsg(s3Put, "2"), func(m map[string]any) {
				m["SigningCertURL"] = "http://sns.us-east-1.amazonaws.com/SimpleNotificationService-0123456789abcdef.pem"
			})),
			wantStatus: 403, reason: SNSRejectCertURL},
		{name: "unsigned", header: snsHeader("Notification"),
			msg:        edit(snsNotificationMsg(s3Delete, "2"), func(m map[string]any) { delete(m, "Signature") }),
			wantStatus: 403, reason: SNSRejectUnsigned},
		{name: "unsigned, SNS-shaped, posted with the token", header: withToken,
			msg:        edit(snsNotificationMsg(s3Delete, "2"), func(m map[string]any) { delete(m, "SigningCertURL") }),
			wantStatus: 403, reason: SNSRejectUnsigned},
		{name: "signature not base64", header: snsHeader("Notification"),
			msg:        edit(snsNotificationMsg(s3Delete, "2"), func(m map[string]any) { m["Signature"] = "%%%" }),
			wantStatus: 403, reason: SNSRejectBadSignature},
		{name: "unknown SignatureVersion", header: snsHeader("Notification"),
			msg:        edit(signed(real, snsNotificationMsg(s3Put, "2")), func(m map[string]any) { m["SignatureVersion"] = "3" }),
			wantStatus: 400, reason: SNSRejectSignatureVersion},
		{name: "topic not allowed", header: snsHeader("Notification"),
			msg:        signed(real, edit(snsNotificationMsg(s3Put, "2"), func(m map[string]any) { m["TopicArn"] = "arn:aws:sns:us-east-1:999999999999:other" })),
			wantStatus: 403, reason: SNSRejectTopicNotAllowed},
		{name: "no topic allowed", header: withToken, topics: []string{}, msg: signed(real, snsNotificationMsg(s3Put, "2")),
			wantStatus: 403, reason: SNSRejectDisabled},
		{name: "unknown Type", header: snsHeader("Notification"),
			msg:        edit(signed(real, snsNotificationMsg(s3Put, "2")), func(m map[string]any) { m["Type"] = "Announcement" }),
			wantStatus: 400, reason: SNSRejectUnknownType},
		{name: "SNS header, not an SNS message", header: snsHeader("Notification"), msg: map[string]any{"Records": []any{}},
			wantStatus: 400, reason: SNSRejectMalformed},
		{name: "certificate cannot be fetched", header: snsHeader("Notification"), fetchFails: true, msg: signed(real, snsNotificationMsg(s3Put, "2")),
			wantStatus: 503, reason: SNSRejectCertUnavailable, fetches: []string{testCertURL}},

		{name: "signed SubscriptionConfirmation is confirmed", header: snsHeader("SubscriptionConfirmation"),
			msg: signed(real, snsConfirmationMsg("SubscriptionConfirmation")), wantStatus: 200, fetches: []string{testCertURL, testSubscribe}},
		{name: "forged SubscriptionConfirmation is not visited", header: snsHeader("SubscriptionConfirmation"),
			msg:        signed(attacker, snsConfirmationMsg("SubscriptionConfirmation")),
			wantStatus: 403, reason: SNSRejectBadSignature, fetches: []string{testCertURL}},
		{name: "signed SubscriptionConfirmation with a foreign SubscribeURL", header: snsHeader("SubscriptionConfirmation"),
			msg: signed(real, edit(snsConfirmationMsg("SubscriptionConfirmation"), func(m map[string]any) {
				m["SubscribeURL"] = "https://evil.example/?Action=ConfirmSubscription"
			})),
			wantStatus: 403, reason: SNSRejectSubscribeURL, fetches: []string{testCertURL}},
		{name: "signed UnsubscribeConfirmation", header: snsHeader("UnsubscribeConfirmation"),
			msg: signed(real, snsConfirmationMsg("UnsubscribeConfirmation")), wantStatus: 200, fetches: []string{testCertURL}},

		{name: "signed, but neither token nor SNS header", header: map[string]string{"Content-Type": "text/plain"},
			msg: signed(real, snsNotificationMsg(s3Put, "2")), wantStatus: 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kin := &fakeKinesis{}
			w, reg, _ := newTestWriter(t, kin, nil)
			fetcher := &fakeFetcher{certs: map[string][]byte{testCertURL: real.pem}}
			if tc.fetchFails {
				fetcher.fail = errors.New("connection refused")
			}
			topics := tc.topics
			if topics == nil {
				topics = []string{testTopic}
			}
			f, err := New(Config{Writer: w, Token: token, InputBuckets: bucket.MustParseAllowList("in-bucket"),
				SNS: SNSConfig{TopicARNs: topics, Fetch: fetcher.fetch}, Registerer: reg, Logger: testLogger(t)})
			if err != nil {
				t.Fatal(err)
			}
			body, err := json.Marshal(tc.msg)
			if err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/webhook", strings.NewReader(string(body)))
			rec := serve(t, f, req, tc.header, tc.wantStatus)
			if tc.reason != "" && !strings.Contains(rec.Body.String(), tc.reason) {
				t.Errorf("answer does not name the reason %q: %s", tc.reason, rec.Body)
			}
			var keys []string
			for _, in := range kin.sent() {
				for _, ev := range decodeRecords(t, in) {
					keys = append(keys, ev.Key)
				}
			}
			if fmt.Sprint(keys) != fmt.Sprint(tc.wantKeys) && len(keys)+len(tc.wantKeys) > 0 {
				t.Errorf("Kinesis received keys %q, want %q", keys, tc.wantKeys)
			}
			if got := fetcher.urls(); fmt.Sprint(got) != fmt.Sprint(tc.fetches) && len(got)+len(tc.fetches) > 0 {
				t.Errorf("fetched %q, want %q", got, tc.fetches)
			}
			if tc.reason != "" {
				assertCounter(t, reg, "shardline_forwarder_sns_rejected_total", map[string]string{"reason": tc.reason}, 1)
				assertCounter(t, reg, "shardline_forwarder_requests_total", map[string]string{"result": resultSNSRejected}, 1)
			}
			if tc.refused != "" {
				assertCounter(t, reg, "shardline_forwarder_events_refused_total", map[string]string{"reason": tc.refused}, 1)
			}
			if tc.wantStatus == 200 {
				assertCounter(t, reg, "shardline_forwarder_sns_verified_total", map[string]string{"type": tc.msg["Type"].(string)}, 1)
			}
		})
	}
}

// TestWebhookSNSExpiredCertificate: a message signed with a certificate outside its validity
// period is rejected.
func TestWebhookSNSExpiredCertificate(t *testing.T) {
	old := expiredSigner()
	kin := &fakeKinesis{}
	w, reg, _ := newTestWriter(t, kin, nil)
	fetcher := &fakeFetcher{certs: map[string][]byte{testCertURL: old.pem}}
	f, err := New(Config{Writer: w, Token: "t", SNS: SNSConfig{TopicARNs: []string{testTopic}, Fetch: fetcher.fetch}, Registerer: reg, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	m := snsNotificationMsg(notificationBody(t, s3Record("ObjectCreated:Put", "a.jpg", "0A", nil)), "2")
	old.sign(t, m)
	body, _ := json.Marshal(m)
	req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/", strings.NewReader(string(body)))
	serve(t, f, req, map[string]string{SNSMessageTypeHeader: "Notification"}, http.StatusForbidden)
	assertCounter(t, reg, "shardline_forwarder_sns_rejected_total", map[string]string{"reason": SNSRejectCertInvalid}, 1)
	if len(kin.sent()) != 0 {
		t.Fatal("an event of an expired certificate reached Kinesis")
	}
}

// TestWebhookBucketAllowList: events for a bucket off the allow-list, or whose bucket is not a
// valid S3 bucket name (ARNs, access-point aliases, IP addresses, upper case), are refused with a
// counted reason and never written; the others in the same body are forwarded.
func TestWebhookBucketAllowList(t *testing.T) {
	const token = "t0k"
	inBucket := func(name string) func(_, rec map[string]any) {
		return func(_, rec map[string]any) { rec["s3"].(map[string]any)["bucket"] = map[string]any{"name": name} }
	}
	body := notificationBody(t,
		s3Record("ObjectCreated:Put", "ok.jpg", "01", nil),
		s3Record("ObjectRemoved:Delete", "a.jpg", "02", inBucket("other-bucket")),
		s3Record("ObjectCreated:Put", "b.jpg", "03", inBucket("arn:aws:s3:::in-bucket")),
		s3Record("ObjectCreated:Put", "c.jpg", "04", inBucket("arn:aws:s3:us-east-1:123456789012:accesspoint/ap")),
		s3Record("ObjectCreated:Put", "d.jpg", "05", inBucket("ap-abcdefgh-s3alias")),
		s3Record("ObjectCreated:Put", "e.jpg", "06", inBucket("IN-BUCKET")),
		s3Record("ObjectCreated:Put", "f.jpg", "07", inBucket("10.0.0.1")),
		s3Record("ObjectCreated:Put", "g.jpg", "08", inBucket("in-bucket/../other")),
	)
	tests := []struct {
		name     string
		allow    string
		wantKeys []string
		refused  map[string]float64
	}{
		{"allow-list", "in-bucket", []string{"ok.jpg"}, map[string]float64{RefusedForeignBucket: 1, RefusedInvalidBucket: 6}},
		{"empty allow-list still validates names", "", []string{"ok.jpg", "a.jpg"}, map[string]float64{RefusedInvalidBucket: 6}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kin := &fakeKinesis{}
			w, reg, _ := newTestWriter(t, kin, nil)
			f, err := New(Config{Writer: w, Token: token, InputBuckets: bucket.MustParseAllowList(tc.allow), Registerer: reg, Logger: testLogger(t)})
			if err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/webhook", strings.NewReader(body))
			rec := serve(t, f, req, map[string]string{"Authorization": "Bearer " + token}, http.StatusOK)
			var keys []string
			for _, in := range kin.sent() {
				for _, ev := range decodeRecords(t, in) {
					keys = append(keys, ev.Key)
				}
			}
			if fmt.Sprint(keys) != fmt.Sprint(tc.wantKeys) {
				t.Errorf("Kinesis received %q, want %q", keys, tc.wantKeys)
			}
			refused := int(sum(tc.refused))
			assertJSON(t, rec.Body.Bytes(), fmt.Sprintf(`{"forwarded":%d,"skipped":0,"refused":%d}`, len(tc.wantKeys), refused))
			for _, reason := range []string{RefusedForeignBucket, RefusedInvalidBucket} {
				assertCounter(t, reg, "shardline_forwarder_events_refused_total", map[string]string{"reason": reason}, tc.refused[reason])
			}
		})
	}
}

// TestLambdaBucketAllowList: the Lambda entry point refuses the same way, and acknowledges the
// refused events (a redelivery could not change the answer).
func TestLambdaBucketAllowList(t *testing.T) {
	kin := &fakeKinesis{}
	w, reg, _ := newTestWriter(t, kin, nil)
	f, err := New(Config{Writer: w, InputBuckets: bucket.MustParseAllowList("in-bucket"), Registerer: reg, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	body := notificationBody(t,
		s3Record("ObjectCreated:Put", "ok.jpg", "01", nil),
		s3Record("ObjectRemoved:Delete", "x.jpg", "02", func(_, rec map[string]any) {
			rec["s3"].(map[string]any)["bucket"] = map[string]any{"name": "other-bucket"}
		}),
		s3Record("ObjectRemoved:Delete", "y.jpg", "03", func(_, rec map[string]any) {
			rec["s3"].(map[string]any)["bucket"] = map[string]any{"name": "arn:aws:s3:::other-bucket"}
		}))
	if err := f.HandleLambda(t.Context(), json.RawMessage(body)); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, in := range kin.sent() {
		for _, ev := range decodeRecords(t, in) {
			keys = append(keys, ev.Key)
		}
	}
	if fmt.Sprint(keys) != "[ok.jpg]" {
		t.Fatalf("Kinesis received %q, want only ok.jpg", keys)
	}
	assertCounter(t, reg, "shardline_forwarder_events_refused_total", map[string]string{"reason": RefusedForeignBucket}, 1)
	assertCounter(t, reg, "shardline_forwarder_events_refused_total", map[string]string{"reason": RefusedInvalidBucket}, 1)
}
