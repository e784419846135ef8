// Package inproc runs a shardline worker (processor.Run) inside the calling process, with a
// metrics registry of its own, for the benchmarks and the integration tests.
package inproc

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shardline/shardline/processor"
)

// Worker is processor.Run running in a goroutine of its own.
type Worker struct {
	// Registry holds the worker's metrics (cfg.Registerer of Start).
	Registry *prometheus.Registry
	cancel   context.CancelFunc
	done     chan struct{}
	err      error
}

// Start runs processor.Run(ctx, cfg) with cfg.Registerer set to a new registry of the worker's
// own (Registry) until ctx ends or Cancel is called. Whoever starts a worker waits for it (Stop,
// or Done after Cancel).
func Start(ctx context.Context, cfg processor.Config) *Worker {
	return StartWith(ctx, prometheus.NewRegistry(), cfg)
}

// StartWith is Start with the worker's metrics on reg, which the caller may share with what the
// worker's handler registers.
func StartWith(ctx context.Context, reg *prometheus.Registry, cfg processor.Config) *Worker {
	ctx, cancel := context.WithCancel(ctx)
	w := &Worker{Registry: reg, cancel: cancel, done: make(chan struct{})}
	cfg.Registerer = reg
	go func() {
		defer close(w.done)
		w.err = processor.Run(ctx, cfg)
	}()
	return w
}

// Cancel asks the worker to shut down gracefully; it does not wait. Cancelling again is harmless.
func (w *Worker) Cancel() { w.cancel() }

// Done is closed when processor.Run has returned.
func (w *Worker) Done() <-chan struct{} { return w.done }

// Err is what processor.Run returned, once Done is closed; nil before.
func (w *Worker) Err() error {
	select {
	case <-w.done:
		return w.err
	default:
		return nil
	}
}

// Stop cancels the worker and waits until processor.Run returns, and returns its error (nil when
// it shut down cleanly, leases released).
func (w *Worker) Stop() error {
	w.cancel()
	<-w.done
	return w.err
}
