package processor

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shardline/shardline/internal/telemetry"
)

// Outcome labels of shardline_worker_records_total.
const (
	OutcomeApplied      = "applied"
	OutcomeDuplicate    = "duplicate"
	OutcomeStale        = "stale"
	OutcomeDeadLettered = "dead_lettered"
	// OutcomeSuperseded: a newer event of the same object came in the same batch, so only that
	// one was applied.
	OutcomeSuperseded = "superseded"
)

type metrics struct {
	records      *prometheus.CounterVec
	received     prometheus.Counter
	cpLag        *prometheus.GaugeVec
	deadLetters  *prometheus.CounterVec
	handler      *prometheus.HistogramVec
	conflicts    prometheus.Counter
	repairs      prometheus.Counter
	fences       prometheus.Counter
	checks       *prometheus.CounterVec
	parentWaits  prometheus.Counter
	retries      prometheus.Counter
	checkpoints  *prometheus.CounterVec
	behind       *prometheus.GaugeVec
	shardsActive prometheus.Gauge
	stops        *prometheus.CounterVec
	timeouts     prometheus.Counter
	overdue      prometheus.Gauge
	overdueWaits prometheus.Counter
}

// newMetrics defines the worker's metrics and registers them on reg. On a registry that already
// has them (several workers in one process sharing prometheus.DefaultRegisterer) it uses the
// registered ones: the workers count into the same series, and nothing panics.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := defineMetrics()
	var errs []error
	use(reg, &m.records, &errs)
	use(reg, &m.received, &errs)
	use(reg, &m.cpLag, &errs)
	use(reg, &m.deadLetters, &errs)
	use(reg, &m.handler, &errs)
	use(reg, &m.conflicts, &errs)
	use(reg, &m.repairs, &errs)
	use(reg, &m.fences, &errs)
	use(reg, &m.checks, &errs)
	use(reg, &m.parentWaits, &errs)
	use(reg, &m.retries, &errs)
	use(reg, &m.checkpoints, &errs)
	use(reg, &m.behind, &errs)
	use(reg, &m.shardsActive, &errs)
	use(reg, &m.stops, &errs)
	use(reg, &m.timeouts, &errs)
	use(reg, &m.overdue, &errs)
	use(reg, &m.overdueWaits, &errs)
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("register the worker's metrics: %w", err)
	}
	// The hardening reasons are exported at zero, so that an alert on them needs no data first.
	for _, r := range []string{ReasonForeignBucket, ReasonInvalidBucket, ReasonTimeout} {
		m.deadLetters.WithLabelValues(r)
	}
	for _, o := range []string{OutcomeApplied, OutcomeDuplicate, OutcomeStale, OutcomeSuperseded, OutcomeDeadLettered} {
		m.records.WithLabelValues(o)
	}
	return m, nil
}

// use registers *c on reg, replacing it with the collector already registered there if any.
func use[C prometheus.Collector](reg prometheus.Registerer, c *C, errs *[]error) {
	got, err := telemetry.Register(reg, *c)
	*c = got
	if err != nil {
		*errs = append(*errs, err)
	}
}

func defineMetrics() *metrics {
	return &metrics{
		records: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shardline_worker_records_total",
			Help: "Records finished by the worker, by outcome (applied, duplicate, stale, superseded, dead_lettered).",
		}, []string{"outcome"}),
		received: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shardline_worker_records_received_total",
			Help: "Records handed to the worker by GetRecords (each ends in one records_total outcome).",
		}),
		cpLag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "shardline_worker_checkpoint_lag_seconds",
			Help: "Age (now minus Kinesis arrival time) of the last record checkpointed, per shard, at the time of the checkpoint.",
		}, []string{"shard"}),
		deadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shardline_worker_dead_letters_total",
			Help: "Records dead-lettered, by reason.",
		}, []string{"reason"}),
		handler: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "shardline_worker_handler_duration_seconds",
			Help:    "Time spent in the handler per applied event, by op and result.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 12),
		}, []string{"op", "result"}),
		conflicts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shardline_worker_ledger_conflicts_total",
			Help: "Ledger commits refused because a newer or equal event was committed first.",
		}),
		repairs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shardline_worker_output_repairs_total",
			Help: "Handler re-runs that made an output match the input's current state after a check found it did not.",
		}),
		fences: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shardline_worker_late_writes_fenced_total",
			Help: "Records abandoned (lease lost, shutdown) after a handler call, whose output was then checked and repaired.",
		}),
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shardline_worker_output_checks_total",
			Help: "Checks of an output against the input's current state, by what prompted them (commit, conflict, duplicate, own_write, fence, dead_letter, late).",
		}, []string{"after"}),
		parentWaits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shardline_worker_parent_waits_total",
			Help: "Child shards that waited for a parent shard to reach SHARD_END before processing.",
		}),
		retries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shardline_worker_retries_total",
			Help: "Transient failures retried.",
		}),
		checkpoints: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shardline_worker_checkpoints_total",
			Help: "Checkpoint writes, by result (ok, refused, error).",
		}, []string{"result"}),
		behind: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "shardline_worker_millis_behind_latest",
			Help: "MillisBehindLatest of the last batch read, per shard.",
		}, []string{"shard"}),
		shardsActive: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "shardline_worker_shards_processing",
			Help: "Shards this worker is processing now.",
		}),
		stops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shardline_worker_shard_stops_total",
			Help: "Shard processors stopped, by reason (shard_end, shutdown, lease_lost).",
		}, []string{"reason"}),
		timeouts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shardline_worker_handler_timeouts_total",
			Help: "Handler calls still running at their deadline (--handler-timeout).",
		}),
		overdue: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "shardline_worker_handlers_overdue",
			Help: "Handler calls that ignored their deadline and still run in the background (abandoned by their shard).",
		}),
		overdueWaits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shardline_worker_handler_overdue_waits_total",
			Help: "Timed-out handler calls waited for instead of abandoned, because the overdue-handler limit was reached.",
		}),
	}
}
