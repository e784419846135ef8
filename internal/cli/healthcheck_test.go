package cli

import (
	"context"
	"net/http"
	"net/http/httptest"
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
	check := func(name, url string, code int, say ...string) mainCase {
		return mainCase{name, []string{"healthcheck", "--url", url}, nil, code, say}
	}
	runMain(t, context.Background(), []mainCase{
		check("healthy", ok.URL, 0),
		check("unhealthy status", bad.URL, 1, "503"),
		check("nothing listening", "http://127.0.0.1:1/healthz", 1, "connection refused"),
		check("not live: the reason is printed", stuck.URL+"/healthz", 1, "no successful shard sync"),
		check("live but not ready passes /healthz", notReady.URL+"/healthz", 0),
		check("not ready fails /readyz", notReady.URL+"/readyz", 1, "stream not reached"),
		check("2xx that says not live", liar.URL, 1, "not live: wedged"),
	})
}
