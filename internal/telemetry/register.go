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
