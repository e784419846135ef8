package forwarder

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/shardline/shardline/internal/notification"
)

// newTestForwarder returns a Forwarder over w using stubParse; adjust tweaks the config.
func newTestForwarder(t *testing.T, w EventWriter, reg *prometheus.Registry, adjust func(*Config)) *Forwarder {
	t.Helper()
	cfg := Config{Writer: w, Parse: stubParse(t), Registerer: reg, Logger: testLogger(t)}
	if adjust != nil {
		adjust(&cfg)
	}
	f, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return f
}

// serve sets header on req, serves it with f's webhook and fails the test unless the answer has
// wantStatus; it returns the answer.
func serve(t *testing.T, f *Forwarder, req *http.Request, header map[string]string, wantStatus int) *httptest.ResponseRecorder {
	t.Helper()
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	f.Webhook().ServeHTTP(rec, req)
	if rec.Code != wantStatus {
		t.Fatalf("status %d, want %d: %s", rec.Code, wantStatus, rec.Body)
	}
	return rec
}

func TestWebhook(t *testing.T) {
	const token = "s3cr3t-t0ken"
	twoEvents := `{"events":[{"key":"a.jpg","seq":1},{"key":"b.jpg","seq":2}],"skipped":["test_event"]}`
	alwaysThrottled := func(int, *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
		return nil, &types.ProvisionedThroughputExceededException{}
	}
	tests := []struct {
		name        string
		method      string
		path        string
		header      map[string]string
		body        string
		unknownLen  bool // send without Content-Length, so only the MaxBytesReader sees the size
		respond     putRecordsFunc
		wantStatus  int
		wantBody    string // JSON, compared as values; "" to skip
		wantRecords int    // records Kinesis received in total
		result      string // requests_total label; "" for none
		skipped     float64
	}{
		{
			name: "forwarded with counts", method: http.MethodPost, body: twoEvents,
			header:     map[string]string{"Authorization": "Bearer " + token, "Content-Type": "application/json"},
			wantStatus: 200, wantBody: `{"forwarded":2,"skipped":1}`, wantRecords: 2, result: resultForwarded, skipped: 1,
		},
		{
			name: "bare token and SNS content type", method: http.MethodPost, body: twoEvents,
			header:     map[string]string{"Authorization": token, "Content-Type": "text/plain; charset=UTF-8"},
			wantStatus: 200, wantBody: `{"forwarded":2,"skipped":1}`, wantRecords: 2, result: resultForwarded, skipped: 1,
		},
		{
			name: "lower-case bearer, no content type", method: http.MethodPost, body: twoEvents,
			header:     map[string]string{"Authorization": "bearer " + token},
			wantStatus: 200, wantBody: `{"forwarded":2,"skipped":1}`, wantRecords: 2, result: resultForwarded, skipped: 1,
		},
		{
			name: "only skips", method: http.MethodPost, body: `{"skipped":["test_event","no_sequencer"]}`,
			header:     map[string]string{"Authorization": "Bearer " + token},
			wantStatus: 200, wantBody: `{"forwarded":0,"skipped":2}`, result: resultForwarded, skipped: 1,
		},
		{
			name: "GET is not allowed", method: http.MethodGet,
			header:     map[string]string{"Authorization": "Bearer " + token},
			wantStatus: 405, wantBody: `{"error":"method not allowed"}`, result: resultMethodNotAllowed,
		},
		{
			name: "wrong token", method: http.MethodPost, body: twoEvents,
			header:     map[string]string{"Authorization": "Bearer nope", "Content-Type": "application/json"},
			wantStatus: 401, wantBody: `{"error":"unauthorized"}`, result: resultUnauthorized,
		},
		{
			name: "token prefix is not the token", method: http.MethodPost, body: twoEvents,
			header:     map[string]string{"Authorization": "Bearer " + token[:4]},
			wantStatus: 401, result: resultUnauthorized,
		},
		{
			name: "missing token", method: http.MethodPost, body: twoEvents,
			wantStatus: 401, result: resultUnauthorized,
		},
		{
			name: "body over the limit", method: http.MethodPost, body: `{"skipped":["` + strings.Repeat("x", 2048) + `"]}`,
			header:     map[string]string{"Authorization": "Bearer " + token},
			wantStatus: 413, wantBody: `{"error":"body too large"}`, result: resultTooLarge,
		},
		{
			name: "body over the limit, no Content-Length", method: http.MethodPost, unknownLen: true,
			body:       `{"skipped":["` + strings.Repeat("x", 2048) + `"]}`,
			header:     map[string]string{"Authorization": "Bearer " + token},
			wantStatus: 413, result: resultTooLarge,
		},
		{
			name: "XML content type", method: http.MethodPost, body: twoEvents,
			header:     map[string]string{"Authorization": "Bearer " + token, "Content-Type": "application/xml"},
			wantStatus: 415, result: resultUnsupportedType,
		},
		{
			name: "invalid content type", method: http.MethodPost, body: twoEvents,
			header:     map[string]string{"Authorization": "Bearer " + token, "Content-Type": "application/json; ="},
			wantStatus: 415, result: resultUnsupportedType,
		},
		{
			name: "not JSON", method: http.MethodPost, body: `<xml/>`,
			header:     map[string]string{"Authorization": "Bearer " + token},
			wantStatus: 400, wantBody: `{"error":"malformed notification"}`, result: resultMalformed,
		},
		{
			name: "Kinesis keeps failing", method: http.MethodPost, body: twoEvents, respond: alwaysThrottled,
			header:     map[string]string{"Authorization": "Bearer " + token},
			wantStatus: 503, wantBody: `{"error":"events not forwarded, retry"}`, wantRecords: 4, result: resultWriteFailed, skipped: 1,
		},
		{
			name: "event that can never be put", method: http.MethodPost, body: `{"events":[{"key":"a","seq":1},{"key":"b","invalid":true}]}`,
			header:     map[string]string{"Authorization": "Bearer " + token},
			wantStatus: 500, wantBody: `{"error":"event cannot be forwarded"}`, result: resultWriteFailed,
		},
		{
			name: "health", method: http.MethodGet, path: HealthPath,
			wantStatus: 200,
		},
		{
			name: "health is GET only", method: http.MethodPost, path: HealthPath,
			wantStatus: 405,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kin := &fakeKinesis{respond: tc.respond}
			w, reg, _ := newTestWriter(t, kin, func(c *WriterConfig) { c.MaxAttempts = 2 })
			parsed := 0
			f := newTestForwarder(t, w, reg, func(c *Config) {
				c.Token = token
				c.MaxBodyBytes = 1024
				parse := c.Parse
				c.Parse = func(b []byte) (notification.Result, error) { parsed++; return parse(b) }
			})
			path := tc.path
			if path == "" {
				path = "/minio/events"
			}
			var body io.Reader = strings.NewReader(tc.body)
			if tc.unknownLen {
				body = io.MultiReader(body) // hides the length from httptest.NewRequest
			}
			req := httptest.NewRequestWithContext(t.Context(), tc.method, path, body)
			if tc.unknownLen && req.ContentLength > 0 {
				t.Fatalf("request has a Content-Length")
			}
			rec := serve(t, f, req, tc.header, tc.wantStatus)
			if tc.wantBody != "" {
				assertJSON(t, rec.Body.Bytes(), tc.wantBody)
				if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type %q", ct)
				}
			}
			records := 0
			for _, in := range kin.sent() {
				records += len(in.Records)
			}
			if records != tc.wantRecords {
				t.Errorf("Kinesis received %d records, want %d", records, tc.wantRecords)
			}
			if tc.wantStatus == 401 || tc.wantStatus == 405 || tc.wantStatus == 415 {
				if parsed != 0 || len(kin.sent()) != 0 {
					t.Errorf("refused request had side effects: %d parses, %d PutRecords calls", parsed, len(kin.sent()))
				}
			}
			switch tc.wantStatus {
			case 401:
				if rec.Header().Get("WWW-Authenticate") == "" {
					t.Errorf("401 without WWW-Authenticate")
				}
			case 405:
				if rec.Header().Get("Allow") == "" {
					t.Errorf("405 without Allow")
				}
			case 503:
				if rec.Header().Get("Retry-After") == "" {
					t.Errorf("503 without Retry-After")
				}
			}
			if tc.result != "" {
				assertCounter(t, reg, "shardline_forwarder_requests_total", map[string]string{"result": tc.result}, 1)
			}
			assertCounter(t, reg, "shardline_forwarder_events_skipped_total", map[string]string{"reason": "test_event"}, tc.skipped)
		})
	}
}

func TestWebhookWithoutToken(t *testing.T) {
	kin := &fakeKinesis{}
	w, reg, _ := newTestWriter(t, kin, nil)
	f := newTestForwarder(t, w, reg, nil)
	req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/", bytes.NewReader([]byte(`{"events":[{"key":"a","seq":1}]}`)))
	rec := serve(t, f, req, nil, http.StatusOK)
	assertJSON(t, rec.Body.Bytes(), `{"forwarded":1,"skipped":0}`)
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"minimal", Config{Writer: &Writer{}}, ""},
		{"no writer", Config{}, "Writer is required"},
		{"negative body limit", Config{Writer: &Writer{}, MaxBodyBytes: -1}, "MaxBodyBytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				f, err := New(tc.cfg)
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				if f.maxBody != DefaultMaxBodyBytes || f.parse == nil || f.log == nil {
					t.Errorf("defaults not applied")
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Validate error %v, want one mentioning %q", err, tc.wantErr)
			}
		})
	}
}

// assertJSON compares two JSON documents as values.
func assertJSON(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("response %q is not JSON: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want %q is not JSON: %v", want, err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if !bytes.Equal(gb, wb) {
		t.Errorf("response %s, want %s", gb, wb)
	}
}
