package processor

import (
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
	r := telemetry.NewRegistration(reg)
	gauge := func(name, help string) prometheus.Gauge {
		return telemetry.Add(r, prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help}))
	}
	perShard := func(name, help string) *prometheus.GaugeVec {
		return telemetry.Add(r, prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, []string{"shard"}))
	}
	m := &metrics{
		records: r.CounterVec("shardline_worker_records_total",
			"Records finished by the worker, by outcome (applied, duplicate, stale, superseded, dead_lettered).", "outcome"),
		received: r.Counter("shardline_worker_records_received_total",
			"Records handed to the worker by GetRecords (each ends in one records_total outcome)."),
		cpLag: perShard("shardline_worker_checkpoint_lag_seconds",
			"Age (now minus Kinesis arrival time) of the last record checkpointed, per shard, at the time of the checkpoint."),
		deadLetters: r.CounterVec("shardline_worker_dead_letters_total", "Records dead-lettered, by reason.", "reason"),
		handler: telemetry.Add(r, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "shardline_worker_handler_duration_seconds",
			Help:    "Time spent in the handler per applied event, by op and result.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 12),
		}, []string{"op", "result"})),
		conflicts: r.Counter("shardline_worker_ledger_conflicts_total",
			"Ledger commits refused because a newer or equal event was committed first."),
		repairs: r.Counter("shardline_worker_output_repairs_total",
			"Handler re-runs that made an output match the input's current state after a check found it did not."),
		fences: r.Counter("shardline_worker_late_writes_fenced_total",
			"Records abandoned (lease lost, shutdown) after a handler call, whose output was then checked and repaired."),
		checks: r.CounterVec("shardline_worker_output_checks_total",
			"Checks of an output against the input's current state, by what prompted them (commit, conflict, duplicate, own_write, fence, dead_letter, late).", "after"),
		parentWaits: r.Counter("shardline_worker_parent_waits_total",
			"Child shards that waited for a parent shard to reach SHARD_END before processing."),
		retries:      r.Counter("shardline_worker_retries_total", "Transient failures retried."),
		checkpoints:  r.CounterVec("shardline_worker_checkpoints_total", "Checkpoint writes, by result (ok, refused, error).", "result"),
		behind:       perShard("shardline_worker_millis_behind_latest", "MillisBehindLatest of the last batch read, per shard."),
		shardsActive: gauge("shardline_worker_shards_processing", "Shards this worker is processing now."),
		stops: r.CounterVec("shardline_worker_shard_stops_total",
			"Shard processors stopped, by reason (shard_end, shutdown, lease_lost).", "reason"),
		timeouts: r.Counter("shardline_worker_handler_timeouts_total", "Handler calls still running at their deadline (--handler-timeout)."),
		overdue: gauge("shardline_worker_handlers_overdue",
			"Handler calls that ignored their deadline and still run in the background (abandoned by their shard)."),
		overdueWaits: r.Counter("shardline_worker_handler_overdue_waits_total",
			"Timed-out handler calls waited for instead of abandoned, because the overdue-handler limit was reached."),
	}
	if err := r.Err(); err != nil {
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

// registerLeasesHeld exports the number of leases cp holds (a gauge read at scrape time). On a
// registry shared with another worker in this process the first one's gauge stays (and the
// returned func does nothing).
func registerLeasesHeld(reg prometheus.Registerer, held func() float64) (unregister func(), err error) {
	g := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "shardline_worker_leases_held",
		Help: "Shard leases this worker holds now (renewed, with the safety margin left).",
	}, held)
	got, err := telemetry.Register(reg, g)
	if err != nil {
		return nil, fmt.Errorf("register metrics: %w", err)
	}
	if got != g {
		return func() {}, nil
	}
	return func() { reg.Unregister(g) }, nil
}
