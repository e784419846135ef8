package telemetry

import (
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shardline/shardline/internal/lab/testkit"
)

func newTotal(help string) prometheus.Counter {
	return prometheus.NewCounter(prometheus.CounterOpts{Name: "shardline_test_things_total", Help: help})
}

// TestRegisterSharesIdenticalCollectors: a second identical collector on one registry gets the
// first one back (both count into one series, nothing panics); a conflicting one gets an error.
func TestRegisterSharesIdenticalCollectors(t *testing.T) {
	reg := prometheus.NewRegistry()
	first, err := Register(reg, newTotal("Things."))
	if err != nil {
		t.Fatal(err)
	}
	second, err := Register(reg, newTotal("Things."))
	if err != nil {
		t.Fatalf("identical collector: %v", err)
	}
	first.Inc()
	second.Inc()
	if got := testkit.Metric(t, reg, "shardline_test_things_total"); got != 2 {
		t.Errorf("shared series = %v, want 2", got)
	}
	var are prometheus.AlreadyRegisteredError
	if _, err := Register(reg, newTotal("Other help.")); err == nil || errors.As(err, &are) {
		t.Errorf("collector with other help: err = %v, want a registration error other than AlreadyRegistered", err)
	}
}

// TestRegistrationKeepsErrors: Add (and Counter, CounterVec through it) returns the collector to
// use and Err reports every failed Add.
func TestRegistrationKeepsErrors(t *testing.T) {
	reg := prometheus.NewRegistry()
	r := NewRegistration(reg)
	a := Add(r, newTotal("Things."))
	b := Add(r, newTotal("Things."))
	if err := r.Err(); err != nil {
		t.Fatalf("identical collectors: %v", err)
	}
	a.Inc()
	b.Inc()
	if got := testkit.Metric(t, reg, "shardline_test_things_total"); got != 2 {
		t.Errorf("shared series = %v, want 2", got)
	}
	r.CounterVec("shardline_test_calls_total", "Calls.", "result").WithLabelValues("ok").Inc()
	r.CounterVec("shardline_test_calls_total", "Calls.", "result").WithLabelValues("ok").Inc()
	r.Counter("shardline_test_things_total", "Things.").Inc()
	if err := r.Err(); err != nil {
		t.Fatalf("Counter, CounterVec: %v", err)
	}
	if got := testkit.Metric(t, reg, "shardline_test_calls_total", "result", "ok"); got != 2 {
		t.Errorf("CounterVec series = %v, want 2", got)
	}
	if got := testkit.Metric(t, reg, "shardline_test_things_total"); got != 3 {
		t.Errorf("Counter series = %v, want 3", got)
	}
	Add(r, newTotal("Other help."))
	Add(r, newTotal("Third help."))
	var errs interface{ Unwrap() []error }
	if err := r.Err(); !errors.As(err, &errs) || len(errs.Unwrap()) != 2 {
		t.Errorf("Err() = %v, want both failed Adds", err)
	}
}
