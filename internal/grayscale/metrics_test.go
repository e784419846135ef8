package grayscale

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shardline/shardline/internal/envelope"
	"github.com/shardline/shardline/internal/lab/testkit"
)

// TestConvertersSharingARegistryCountTogether: two Converters on one registry do not panic and
// count into the same series.
func TestConvertersSharingARegistryCountTogether(t *testing.T) {
	reg := prometheus.NewRegistry()
	store := newFakeStore()
	store.add(inBucket, "a.jpg", encodeJPEG(t, gradient(16, 16)), "")
	a := newTestConverter(t, store, func(c *Config) { c.Registerer = reg })
	b := newTestConverter(t, store, func(c *Config) { c.Registerer = reg })
	ev := testEvent(t, envelope.OpPut, inBucket, "a.jpg")

	assertOutcome(t, a.Handle(context.Background(), ev), "") // converts
	assertOutcome(t, a.Handle(context.Background(), ev), "") // in sync
	assertOutcome(t, b.Handle(context.Background(), ev), "") // in sync
	if got := testkit.Metric(t, reg, "shardline_handler_outputs_in_sync_total"); got != 2 {
		t.Errorf("outputs in sync = %v, want 2 (one from each Converter)", got)
	}
}

// TestNewFailsOnAConflictingMetric: a registry holding another metric of the same name makes New
// fail instead of panicking.
func TestNewFailsOnAConflictingMetric(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "shardline_handler_outputs_in_sync_total", Help: "Something else.",
	}, []string{"bucket"}))
	if _, err := New(Config{Store: newFakeStore(), OutputBucket: outBucket, Registerer: reg}); err == nil {
		t.Fatal("New succeeded on a registry with a conflicting metric")
	}
}
