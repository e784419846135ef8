package hookproxy

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

func TestReceive(t *testing.T) {
	put, err := os.ReadFile("../../notification/testdata/minio_webhook_put.json") // bucket "input"
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, auth, bucket, body string
		wantOK, wantForeign      bool
		wantEvents               int
		wantStatus               int // written by Receive; 0: left to the caller
	}{
		{name: "no token", bucket: "input", body: string(put), wantStatus: http.StatusUnauthorized},
		{name: "wrong token", auth: "Bearer other", bucket: "input", body: string(put), wantStatus: http.StatusUnauthorized},
		{name: "our bucket", auth: "Bearer minio", bucket: "input", body: string(put), wantOK: true, wantEvents: 1},
		{name: "another bucket", auth: "Bearer minio", bucket: "mine", body: string(put), wantForeign: true, wantEvents: 1, wantStatus: http.StatusOK},
		{name: "not a notification", auth: "Bearer minio", bucket: "input", body: "{", wantOK: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/", strings.NewReader(tc.body))
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			rec := httptest.NewRecorder()
			n, ok := Receive(rec, req, "minio", tc.bucket)
			if ok != tc.wantOK || n.Foreign != tc.wantForeign || len(n.Events) != tc.wantEvents {
				t.Fatalf("Receive = ok %v, foreign %v, %d events; want %v, %v, %d", ok, n.Foreign, len(n.Events), tc.wantOK, tc.wantForeign, tc.wantEvents)
			}
			if ok && string(n.Body) != tc.body {
				t.Fatalf("body %q, want the request's", n.Body)
			}
			switch {
			case tc.wantStatus != 0 && rec.Code != tc.wantStatus:
				t.Fatalf("status %d, want %d", rec.Code, tc.wantStatus)
			case tc.wantStatus == 0 && (rec.Code != http.StatusOK || rec.Body.Len() > 0): // the recorder's untouched state
				t.Fatalf("Receive answered %d %q; the caller should", rec.Code, rec.Body)
			}
		})
	}
}
