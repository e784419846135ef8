package forwarder

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// BenchmarkWebhookRequest is the forwarder's own cost of one webhook request as MinIO sends it
// (one event, bearer token): authentication, body read, parse, envelope, the shared PutRecords
// call (against a fake client) and the answer; net/http's server and the network are not in it.
func BenchmarkWebhookRequest(b *testing.B) {
	body, err := os.ReadFile("../notification/testdata/minio_webhook_put.json")
	if err != nil {
		b.Fatal(err)
	}
	w, err := NewWriter(WriterConfig{Client: &fakeKinesis{}, StreamName: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	f, err := New(Config{Writer: w, Token: "s3cr3t-t0ken", Registerer: prometheus.NewRegistry(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	wh := f.Webhook()
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/webhook", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer s3cr3t-t0ken")
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		wh.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}
