package cli

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/shardline/shardline/internal/telemetry"
)

type fixedHealth telemetry.Status

func (f fixedHealth) Health() telemetry.Status { return telemetry.Status(f) }

func TestHealthcheck(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer ok.Close()
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "no", http.StatusServiceUnavailable)
	}))
	defer bad.Close()
	stuck := httptest.NewServer(telemetry.Mux(nil, fixedHealth{Reason: "stuck: no successful shard sync (ListShards) for 1m5s, more than 1m0s"}))
	defer stuck.Close()
	notReady := httptest.NewServer(telemetry.Mux(nil, fixedHealth{Live: true, Reason: "stream not reached"}))
	defer notReady.Close()
	liar := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"live":false,"reason":"wedged"}`))
	}))
	defer liar.Close()
	for _, tc := range []struct {
		name string
		url  string
		code int
		say  string
	}{
		{"healthy", ok.URL, 0, ""},
		{"unhealthy status", bad.URL, 1, "503"},
		{"nothing listening", "http://127.0.0.1:1/healthz", 1, "connection refused"},
		{"not live: the reason is printed", stuck.URL + "/healthz", 1, "no successful shard sync"},
		{"live but not ready passes /healthz", notReady.URL + "/healthz", 0, ""},
		{"not ready fails /readyz", notReady.URL + "/readyz", 1, "stream not reached"},
		{"2xx that says not live", liar.URL, 1, "not live: wedged"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, _, errOut := testEnv(nil)
			if code := Main(context.Background(), []string{"healthcheck", "--url", tc.url}, env); code != tc.code {
				t.Fatalf("exit %d, want %d (%s)", code, tc.code, errOut)
			}
			if !strings.Contains(errOut.String(), tc.say) {
				t.Errorf("stderr %q does not say %q", errOut, tc.say)
			}
		})
	}
}
