package apifault

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// TestAfterForward: the hook sees every call that completed upstream, lost ones included,
// before the client has its response, and no call that was faulted before forwarding.
func TestAfterForward(t *testing.T) {
	cases := []struct {
		name  string
		rates Rates
		want  int
	}{
		{name: "forwarded", want: 1},
		{name: "lost", rates: Rates{Lost: 1}, want: 1},
		{name: "throttled", rates: Rates{Throttle: 1}, want: 0},
		{name: "reset", rates: Rates{Reset: 1}, want: 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("body")) }))
			t.Cleanup(up.Close)
			var (
				mu   sync.Mutex
				seen []string
			)
			p := startProxy(t, Config{Service: S3, Upstream: up.URL, Default: tc.rates, AfterForward: func(op string, r *http.Request) {
				mu.Lock()
				seen = append(seen, op+" "+r.URL.Path)
				mu.Unlock()
			}})
			client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
			resp, err := client.Get(p.URL() + "/in/a.jpg")
			if err == nil {
				resp.Body.Close()
			}
			mu.Lock()
			defer mu.Unlock()
			if len(seen) != tc.want {
				t.Fatalf("hook calls %v, want %d", seen, tc.want)
			}
			if tc.want > 0 && seen[0] != "GetObject /in/a.jpg" {
				t.Errorf("hook saw %q, want GetObject /in/a.jpg", seen[0])
			}
		})
	}
}
