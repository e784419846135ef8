package forwarder

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/shardline/shardline/internal/lab/testkit"
)

// assertCounter checks the value of the counter series name{labels} gathered from reg; a series
// that does not exist counts as 0.
func assertCounter(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string, want float64) {
	t.Helper()
	var pairs []string
	for k, v := range labels {
		pairs = append(pairs, k, v)
	}
	if got := testkit.Metric(t, reg, name, pairs...); got != want {
		t.Errorf("%s%v = %v, want %v", name, labels, got, want)
	}
}

func TestMetricsExposition(t *testing.T) {
	kin := &fakeKinesis{}
	w, reg, _ := newTestWriter(t, kin, nil)
	f := newTestForwarder(t, w, reg, nil)
	if err := f.HandleLambda(t.Context(), []byte(`{"events":[{"key":"a","seq":1}],"skipped":["test_event"]}`)); err != nil {
		t.Fatalf("HandleLambda: %v", err)
	}
	if err := f.HandleLambda(t.Context(), []byte(`not json`)); err != nil {
		t.Fatalf("HandleLambda(malformed): %v", err)
	}
	want := `
# HELP shardline_forwarder_events_skipped_total Notification entries not forwarded as work (test events, no sequencer, ...), by reason.
# TYPE shardline_forwarder_events_skipped_total counter
shardline_forwarder_events_skipped_total{reason="test_event"} 1
# HELP shardline_forwarder_malformed_total Payloads that were not a notification and were acknowledged without forwarding.
# TYPE shardline_forwarder_malformed_total counter
shardline_forwarder_malformed_total 1
# HELP shardline_forwarder_put_records_call_records Records carried by each PutRecords call, concurrent webhook requests' records together.
# TYPE shardline_forwarder_put_records_call_records histogram
shardline_forwarder_put_records_call_records_bucket{le="1"} 1
shardline_forwarder_put_records_call_records_bucket{le="2"} 1
shardline_forwarder_put_records_call_records_bucket{le="4"} 1
shardline_forwarder_put_records_call_records_bucket{le="8"} 1
shardline_forwarder_put_records_call_records_bucket{le="16"} 1
shardline_forwarder_put_records_call_records_bucket{le="32"} 1
shardline_forwarder_put_records_call_records_bucket{le="64"} 1
shardline_forwarder_put_records_call_records_bucket{le="128"} 1
shardline_forwarder_put_records_call_records_bucket{le="256"} 1
shardline_forwarder_put_records_call_records_bucket{le="500"} 1
shardline_forwarder_put_records_call_records_bucket{le="+Inf"} 1
shardline_forwarder_put_records_call_records_sum 1
shardline_forwarder_put_records_call_records_count 1
# HELP shardline_forwarder_put_records_failed_total Records that did not reach Kinesis before the deadline, the attempt limit or a permanent error.
# TYPE shardline_forwarder_put_records_failed_total counter
shardline_forwarder_put_records_failed_total 0
# HELP shardline_forwarder_put_records_requests_total PutRecords calls by result (ok, partial, error).
# TYPE shardline_forwarder_put_records_requests_total counter
shardline_forwarder_put_records_requests_total{result="ok"} 1
# HELP shardline_forwarder_put_records_retries_total Records re-sent after a partial failure or a retryable PutRecords error.
# TYPE shardline_forwarder_put_records_retries_total counter
shardline_forwarder_put_records_retries_total 0
# HELP shardline_forwarder_records_forwarded_total Records accepted by Kinesis.
# TYPE shardline_forwarder_records_forwarded_total counter
shardline_forwarder_records_forwarded_total 1
# HELP shardline_forwarder_requests_total Webhook requests and Lambda invocations by result.
# TYPE shardline_forwarder_requests_total counter
shardline_forwarder_requests_total{result="forwarded"} 1
shardline_forwarder_requests_total{result="malformed"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	if n, err := testutil.GatherAndCount(reg); err != nil || n != 9 {
		t.Errorf("GatherAndCount = %d, %v; want 9 series", n, err)
	}
}
