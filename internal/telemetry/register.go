package telemetry

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Register registers c on reg and returns the collector to use: c, or, when an identical
// collector is already registered there (a second worker, forwarder or handler in the same
// process on a shared registry such as prometheus.DefaultRegisterer), that one, so that both
// count into the same series instead of panicking. Any other registration error (a metric of the
// same name with other labels or help) is returned with c.
func Register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	return c, err
}

// Registration registers a component's collectors on one Registerer, each through Register, and
// keeps the errors for Err, so that a constructor defines and registers every metric in one
// expression and checks once.
type Registration struct {
	reg  prometheus.Registerer
	errs []error
}

// NewRegistration returns a Registration on reg.
func NewRegistration(reg prometheus.Registerer) *Registration {
	return &Registration{reg: reg}
}

// Add registers c through r as Register does and returns the collector to use: c, or the identical
// one already registered. A failure is kept for r.Err.
func Add[C prometheus.Collector](r *Registration, c C) C {
	got, err := Register(r.reg, c)
	if err != nil {
		r.errs = append(r.errs, err)
	}
	return got
}

// Counter defines a counter named name with help and registers it through Add.
func (r *Registration) Counter(name, help string) prometheus.Counter {
	return Add(r, prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help}))
}

// CounterVec defines a counter named name with help, partitioned by labels, and registers it
// through Add.
func (r *Registration) CounterVec(name, help string, labels ...string) *prometheus.CounterVec {
	return Add(r, prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels))
}

// Err returns the errors of the Adds that failed, joined, or nil if none did.
func (r *Registration) Err() error {
	return errors.Join(r.errs...)
}
