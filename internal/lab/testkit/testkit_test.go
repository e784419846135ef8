package testkit

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// fatalRecorder is a testing.TB whose Fatalf records the message and ends the goroutine, as the
// real one does.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (r *fatalRecorder) Helper() {}

func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// run calls f with a fatalRecorder in its own goroutine and returns what it failed with.
func run(t *testing.T, f func(tb testing.TB)) string {
	r := &fatalRecorder{TB: t}
	var wg sync.WaitGroup
	wg.Go(func() { f(r) })
	wg.Wait()
	return r.msg
}

func TestEventually(t *testing.T) {
	calls := 0
	if msg := run(t, func(tb testing.TB) {
		Eventually(tb, time.Minute, time.Millisecond, func() bool { calls++; return calls == 3 }, "never")
	}); msg != "" || calls != 3 {
		t.Errorf("met on call 3: failed %q after %d calls", msg, calls)
	}
	start := time.Now()
	msg := run(t, func(tb testing.TB) {
		Eventually(tb, 50*time.Millisecond, 0, func() bool { return false }, "shard %s never closed", "s-1")
	})
	if want := "condition not met within 50ms: shard s-1 never closed"; msg != want {
		t.Errorf("failed with %q, want %q", msg, want)
	}
	if took := time.Since(start); took < 50*time.Millisecond {
		t.Errorf("gave up after %s, before the timeout", took)
	}
}

func TestMetric(t *testing.T) {
	reg := prometheus.NewRegistry()
	calls := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "calls_total", Help: "h"}, []string{"result", "op"})
	depth := prometheus.NewGauge(prometheus.GaugeOpts{Name: "depth", Help: "h"})
	size := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "size", Help: "h"})
	reg.MustRegister(calls, depth, size)
	calls.WithLabelValues("ok", "put").Add(3)
	calls.WithLabelValues("ok", "delete").Add(2)
	calls.WithLabelValues("error", "put").Inc()
	depth.Set(7)
	size.Observe(1)
	size.Observe(100)

	tests := []struct {
		name   string
		metric string
		labels []string
		want   float64
	}{
		{"every series", "calls_total", nil, 6},
		{"one label", "calls_total", []string{"result", "ok"}, 5},
		{"two labels", "calls_total", []string{"result", "ok", "op", "put"}, 3},
		{"no such series", "calls_total", []string{"result", "throttled"}, 0},
		{"no such metric", "missing_total", nil, 0},
		{"gauge", "depth", nil, 7},
		{"histogram count", "size", nil, 2},
		{"histogram sum", "size_sum", nil, 101},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Metric(t, reg, tc.metric, tc.labels...); got != tc.want {
				t.Errorf("Metric(%s, %q) = %v, want %v", tc.metric, tc.labels, got, tc.want)
			}
		})
	}
	if msg := run(t, func(tb testing.TB) { Metric(tb, reg, "calls_total", "result") }); msg == "" {
		t.Error("an odd label list did not fail the test")
	}
}

func TestErrMentions(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		want    string
		wantMsg string // what it fails with; empty: it passes
	}{
		{"no error wanted, none", nil, "", ""},
		{"no error wanted, one", fmt.Errorf("Out is required"), "", "unexpected error: Out is required"},
		{"mentioned", fmt.Errorf("bench: Out is required"), "Out", ""},
		{"not mentioned", fmt.Errorf("bench: Binary is required"), "Out", `error bench: Binary is required, want one mentioning "Out"`},
		{"missing", nil, "Out", `error <nil>, want one mentioning "Out"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if msg := run(t, func(tb testing.TB) { ErrMentions(tb, tc.err, tc.want) }); msg != tc.wantMsg {
				t.Fatalf("failed with %q, want %q", msg, tc.wantMsg)
			}
		})
	}
}
