package chaos

import (
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// TestProxyAuthentication: the proxy refuses MinIO requests without MinIO's token, and
// authenticates itself to the forwarder with the harness's own token.
func TestProxyAuthentication(t *testing.T) {
	var mu sync.Mutex
	var got []string
	fwd := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Header.Get("Authorization"))
		mu.Unlock()
	}))
	t.Cleanup(fwd.Close)
	px := &proxy{target: fwd.URL, token: "harness", minioToken: "minio", bucket: "in-bucket", rng: rand.New(rand.NewPCG(1, 2))}
	body := `{"Records":[]}`
	for _, tc := range []struct {
		name, auth string
		want       int
	}{
		{"no token", "", http.StatusUnauthorized},
		{"wrong token", "Bearer harness", http.StatusUnauthorized},
		{"MinIO's token", "Bearer minio", http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/", strings.NewReader(body))
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			rec := httptest.NewRecorder()
			px.ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d", rec.Code, tc.want)
			}
		})
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0] != "Bearer harness" {
		t.Fatalf("forwarder received Authorization %q, want one request with the harness token", got)
	}
}
