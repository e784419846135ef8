package forwarder

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/shardline/shardline/internal/telemetry"
)

// writerMetrics are the Writer's counters.
type writerMetrics struct {
	forwarded prometheus.Counter
	retries   prometheus.Counter
	failed    prometheus.Counter
	calls     *prometheus.CounterVec
	// callRecords is how many records each PutRecords call carried (first attempts and retries
	// of concurrent Writes together).
	callRecords prometheus.Histogram
}

// PutRecords call results, the values of the result label of put_records_requests_total.
const (
	callOK      = "ok"
	callPartial = "partial"
	callError   = "error"
)

func newWriterMetrics(reg prometheus.Registerer) (*writerMetrics, error) {
	r := telemetry.NewRegistration(reg)
	m := &writerMetrics{
		forwarded: r.Counter("shardline_forwarder_records_forwarded_total",
			"Records accepted by Kinesis."),
		retries: r.Counter("shardline_forwarder_put_records_retries_total",
			"Records re-sent after a partial failure or a retryable PutRecords error."),
		failed: r.Counter("shardline_forwarder_put_records_failed_total",
			"Records that did not reach Kinesis before the deadline, the attempt limit or a permanent error."),
		calls: r.CounterVec("shardline_forwarder_put_records_requests_total",
			"PutRecords calls by result (ok, partial, error).", "result"),
		callRecords: telemetry.Add(r, prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "shardline_forwarder_put_records_call_records",
			Help:    "Records carried by each PutRecords call, concurrent webhook requests' records together.",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 500},
		})),
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	return m, nil
}

// forwarderMetrics are the counters shared by the webhook and the Lambda entry point.
type forwarderMetrics struct {
	skipped     *prometheus.CounterVec
	refused     *prometheus.CounterVec
	requests    *prometheus.CounterVec
	malformed   prometheus.Counter
	snsRejected *prometheus.CounterVec
	snsVerified *prometheus.CounterVec
}

// Request results, the values of the result label of requests_total.
const (
	resultForwarded        = "forwarded"
	resultMalformed        = "malformed"
	resultWriteFailed      = "write_failed"
	resultParseFailed      = "parse_failed"
	resultUnauthorized     = "unauthorized"
	resultMethodNotAllowed = "method_not_allowed"
	resultTooLarge         = "too_large"
	resultUnsupportedType  = "unsupported_media_type"
	resultReadFailed       = "read_failed"
	resultReadTimeout      = "read_timeout"
	resultSNSRejected      = "sns_rejected"
	resultSNSControl       = "sns_control"
)

func newForwarderMetrics(reg prometheus.Registerer) (*forwarderMetrics, error) {
	r := telemetry.NewRegistration(reg)
	m := &forwarderMetrics{
		skipped: r.CounterVec("shardline_forwarder_events_skipped_total",
			"Notification entries not forwarded as work (test events, no sequencer, ...), by reason.", "reason"),
		refused: r.CounterVec("shardline_forwarder_events_refused_total",
			"Events refused and never written to the stream, by reason (foreign_bucket, invalid_bucket).", "reason"),
		snsRejected: r.CounterVec("shardline_forwarder_sns_rejected_total",
			"SNS messages posted to the webhook and rejected (unsigned, bad_signature, topic_not_allowed, cert_url, ...), by reason.", "reason"),
		snsVerified: r.CounterVec("shardline_forwarder_sns_verified_total",
			"SNS messages whose signature and topic were verified, by SNS message type.", "type"),
		requests: r.CounterVec("shardline_forwarder_requests_total",
			"Webhook requests and Lambda invocations by result.", "result"),
		malformed: r.Counter("shardline_forwarder_malformed_total",
			"Payloads that were not a notification and were acknowledged without forwarding."),
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	return m, nil
}
