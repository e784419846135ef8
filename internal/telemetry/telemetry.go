// Package telemetry serves Prometheus metrics and the health endpoints ECS and load balancers
// probe, and builds the process logger.
package telemetry

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// NewRegistry returns a registry with the Go runtime and process collectors.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// NewLogger returns a slog logger writing JSON (format "json") or text (anything else).
// Durations are written the way Go spells them ("30s", "1m30s", "250ms"), not as nanoseconds.
func NewLogger(w io.Writer, format string, level slog.Level) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: readableDuration}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// readableDuration is a slog ReplaceAttr that renders duration values as strings ("30s"): the
// JSON handler would write them as integer nanoseconds.
func readableDuration(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		return slog.String(a.Key, a.Value.Duration().String())
	}
	return a
}

// Status is a process's health as /healthz and /readyz report it, in their JSON bodies.
type Status struct {
	// Live is false when the process is stuck and should be replaced: /healthz answers 503.
	Live bool `json:"live"`
	// Ready is false when the process cannot do its work now: /readyz answers 503.
	Ready bool `json:"ready"`
	// Reason says why, in words an operator can act on ("ready" when both are true).
	Reason string `json:"reason"`
	// Details are the signals the decision used (ages, counts), for the operator.
	Details map[string]any `json:"details,omitempty"`
}

// Checker reports a process's health. Health must be cheap (no I/O: it is called on every
// probe) and safe for concurrent use.
type Checker interface {
	Health() Status
}

// Readiness is a flag /readyz reports; the zero value is not ready. It is a Checker that is
// always live.
type Readiness struct{ ready atomic.Bool }

// Set marks the process ready or not ready.
func (r *Readiness) Set(v bool) { r.ready.Store(v) }

// Ready reports the flag.
func (r *Readiness) Ready() bool { return r.ready.Load() }

// Health implements Checker: live, and ready while the flag is set. A nil *Readiness is live
// and not ready.
func (r *Readiness) Health() Status {
	if r == nil || !r.Ready() {
		return Status{Live: true, Reason: "not ready"}
	}
	return Status{Live: true, Ready: true, Reason: "ready"}
}

// Mux returns a handler with /metrics (unless g is nil, when metrics are served on another
// listener), /healthz and /readyz. /healthz answers 200 while health says the process is live
// and 503 when it is not; /readyz answers 200 while it is ready and 503 when it is not. Both
// bodies are the Status as JSON, so an operator (and `shardline healthcheck`) sees the reason.
// A nil health is live and never ready.
func Mux(g prometheus.Gatherer, health Checker) *http.ServeMux {
	mux := http.NewServeMux()
	if g != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{}))
	}
	status := func() Status {
		if health == nil {
			return (*Readiness)(nil).Health()
		}
		return health.Health()
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		st := status()
		writeStatus(w, st, st.Live)
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		st := status()
		writeStatus(w, st, st.Ready)
	})
	return mux
}

func writeStatus(w http.ResponseWriter, st Status, ok bool) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if !ok {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(st)
}

// Serve listens on addr and serves h with the default ServerConfig until ctx is cancelled, then
// shuts down gracefully. It returns the listener error, if any, other than the normal close.
func Serve(ctx context.Context, addr string, h http.Handler, log *slog.Logger) error {
	return ServerConfig{}.Serve(ctx, addr, h, log)
}

// ServeListener is Serve on an existing listener.
func ServeListener(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger) error {
	return ServerConfig{}.ServeListener(ctx, ln, h, log)
}
