package main

import (
	"errors"
	"net"
	"net/http"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shardline/shardline/processor"
)

// TestServeWhile: the endpoints answer while the worker runs (a Health that Run has not started
// is live and not ready), the server stops when it returns, even with a connection open that
// never sent a request, and the run's error comes back alone.
func TestServeWhile(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	counter := prometheus.NewCounter(prometheus.CounterOpts{Name: "example_total", Help: "a counter"})
	reg.MustRegister(counter)
	base := "http://" + ln.Addr().String()
	errStopped := errors.New("worker stopped")

	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

	err = serveWhile(ln, newMux(reg, &processor.Health{}), func() error {
		silent, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { silent.Close() })
		for path, want := range map[string]int{"/metrics": 200, "/healthz": 200, "/readyz": 503, "/nothing": 404} {
			resp, err := client.Get(base + path)
			if err != nil {
				t.Fatalf("GET %s: %v", path, err)
			}
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, want)
			}
		}
		return errStopped
	})
	if err != errStopped {
		t.Fatalf("serveWhile = %v, want the run's error alone", err)
	}
	if resp, err := client.Get(base + "/metrics"); err == nil {
		resp.Body.Close()
		t.Fatal("metrics still served after the run returned")
	}
}
