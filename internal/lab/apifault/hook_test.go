package apifault

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
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

// TestBeforeForward_HoldsTheCall: a call the hook holds reaches the upstream only once the hook
// returns, with its body intact after the hook read it; a call faulted before forwarding never
// reaches the hook.
func TestBeforeForward_HoldsTheCall(t *testing.T) {
	var (
		mu      sync.Mutex
		arrived []string
	)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		arrived = append(arrived, string(b))
		mu.Unlock()
	}))
	t.Cleanup(up.Close)
	entered, release := make(chan string, 1), make(chan struct{})
	p := startProxy(t, Config{Service: DynamoDB, Upstream: up.URL, BeforeForward: func(op string, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("read body: %v", err)
		}
		r.Body = io.NopCloser(bytes.NewReader(b))
		entered <- op + " " + string(b)
		<-release
	}})
	done := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, p.URL()+"/", strings.NewReader(`{"TableName":"ledger"}`))
		req.Header.Set("X-Amz-Target", "DynamoDB_20120810.PutItem")
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	if got := <-entered; got != `PutItem {"TableName":"ledger"}` {
		t.Fatalf("hook saw %q", got)
	}
	mu.Lock()
	n := len(arrived)
	mu.Unlock()
	if n != 0 {
		t.Fatalf("the upstream got the call while the hook held it")
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(arrived) != 1 || arrived[0] != `{"TableName":"ledger"}` {
		t.Fatalf("upstream got %q, want the held call's body once", arrived)
	}

	throttled := startProxy(t, Config{Service: DynamoDB, Upstream: up.URL, Default: Rates{Throttle: 1}, BeforeForward: func(string, *http.Request) {
		t.Error("hook called for a throttled call")
	}})
	resp, err := http.Post(throttled.URL()+"/", "application/x-amz-json-1.0", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}
