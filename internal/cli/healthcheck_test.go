package cli

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestHealthcheck(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer ok.Close()
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "no", http.StatusServiceUnavailable)
	}))
	defer bad.Close()
	for _, tc := range []struct {
		name string
		url  string
		code int
	}{
		{"healthy", ok.URL, 0},
		{"unhealthy status", bad.URL, 1},
		{"nothing listening", "http://127.0.0.1:1/healthz", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, _, errOut := testEnv(nil)
			if code := Main(context.Background(), []string{"healthcheck", "--url", tc.url}, env); code != tc.code {
				t.Fatalf("exit %d, want %d (%s)", code, tc.code, errOut)
			}
		})
	}
}
