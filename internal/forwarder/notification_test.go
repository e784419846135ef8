package forwarder

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/shardline/shardline/internal/envelope"
)

// TestDefaultParse drives both entry points with notification.Parse (the default) on the shapes
// each one receives, checking the wiring rather than the parser's rules.
func TestDefaultParse(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		webhook bool // through the Webhook (else HandleLambda)
		want    []envelope.Event
		skipped map[string]float64
	}{
		{
			name: "MinIO webhook", file: "minio_webhook_put.json", webhook: true,
			want: []envelope.Event{{Bucket: "uploads", Key: "cats/tabby cat.png", Op: envelope.OpPut}},
		},
		{
			name: "S3 test event through the webhook", file: "s3_test_event.json", webhook: true,
			skipped: map[string]float64{"test_event": 1},
		},
		{
			name: "SQS-wrapped S3 in Lambda", file: "sqs_s3.json",
			want:    []envelope.Event{{Bucket: "uploads", Key: "cats/old.png", Op: envelope.OpDelete}},
			skipped: map[string]float64{"test_event": 1},
		},
		{
			name: "EventBridge in Lambda", file: "eventbridge_object_created.json",
			want: []envelope.Event{{Bucket: "uploads", Key: "cats/raw key+plus.png", Op: envelope.OpPut}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			kin := &fakeKinesis{}
			w, reg, _ := newTestWriter(t, kin, nil)
			f, err := New(Config{Writer: w, Registerer: reg, Logger: testLogger(t)})
			if err != nil {
				t.Fatal(err)
			}
			if tc.webhook {
				req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/", bytes.NewReader(body))
				serve(t, f, req, map[string]string{"Content-Type": "application/json"}, http.StatusOK)
			} else if err := f.HandleLambda(t.Context(), body); err != nil {
				t.Fatalf("HandleLambda: %v", err)
			}
			var got []envelope.Event
			for _, in := range kin.sent() {
				got = append(got, decodeRecords(t, in)...)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("forwarded %d events, want %d", len(got), len(tc.want))
			}
			for i, ev := range got {
				want := tc.want[i]
				if ev.Bucket != want.Bucket || ev.Key != want.Key || ev.Op != want.Op {
					t.Errorf("event %d is %s %q/%q, want %s %q/%q", i, ev.Op, ev.Bucket, ev.Key, want.Op, want.Bucket, want.Key)
				}
			}
			for reason, n := range tc.skipped {
				assertCounter(t, reg, "shardline_forwarder_events_skipped_total", map[string]string{"reason": reason}, n)
			}
			assertCounter(t, reg, "shardline_forwarder_requests_total", map[string]string{"result": resultForwarded}, 1)
		})
	}
}
