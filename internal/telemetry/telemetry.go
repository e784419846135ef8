// Package telemetry serves Prometheus metrics and the health endpoints ECS and load balancers
// probe, and builds the process logger.
package telemetry

import (
	"context"
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
func NewLogger(w io.Writer, format string, level slog.Level) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// Readiness is a flag /readyz reports; the zero value is not ready.
type Readiness struct{ ready atomic.Bool }

// Set marks the process ready or not ready.
func (r *Readiness) Set(v bool) { r.ready.Store(v) }

// Ready reports the flag.
func (r *Readiness) Ready() bool { return r.ready.Load() }

// Mux returns a handler with /metrics (unless g is nil, when metrics are served on another
// listener), /healthz (the process is alive) and /readyz (the process is ready to work).
func Mux(g prometheus.Gatherer, ready *Readiness) *http.ServeMux {
	mux := http.NewServeMux()
	if g != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{}))
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if ready == nil || !ready.Ready() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ready\n")
	})
	return mux
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
