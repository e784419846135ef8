package grayscale

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/shardline/shardline/internal/telemetry"
)

type metrics struct {
	races  prometheus.Counter
	inSync prometheus.Counter
}

// newMetrics defines the Converter's metrics and registers them on reg. On a registry that
// already has them (two Converters in one process) it uses the registered ones, so both count
// into the same series.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	r := telemetry.NewRegistration(reg)
	m := &metrics{
		races: r.Counter("shardline_handler_conditional_writes_refused_total",
			"Output writes or deletes refused by S3 because the output changed after it was read (If-Match / If-None-Match): a slower writer lost."),
		inSync: r.Counter("shardline_handler_outputs_in_sync_total",
			"Handler calls that found the output already derived from the input's current content and wrote nothing."),
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	return m, nil
}
