package grayscale

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	races  prometheus.Counter
	inSync prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		races: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shardline_handler_conditional_writes_refused_total",
			Help: "Output writes or deletes refused by S3 because the output changed after it was read (If-Match / If-None-Match): a slower writer lost.",
		}),
		inSync: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shardline_handler_outputs_in_sync_total",
			Help: "Handler calls that found the output already derived from the input's current content and wrote nothing.",
		}),
	}
	reg.MustRegister(m.races, m.inSync)
	return m
}
