package apifault

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestMetricsSharedRegistry shows that proxies of several services can share one registry, and
// that the counter and the snapshot agree.
func TestMetricsSharedRegistry(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	up := newFakeUpstream(t)
	ddb := startProxy(t, Config{Service: DynamoDB, Upstream: up.srv.URL, Registerer: reg, Ops: map[string]Rates{"PutItem": {Throttle: 1}}})
	kin := startProxy(t, Config{Service: Kinesis, Upstream: up.srv.URL, Registerer: reg})
	c := newClients(fakeConfig, "", kin.URL(), ddb.URL())
	ctx := context.Background()
	for range 3 {
		_, _ = c.DynamoDB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("t"),
			Item: map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "k"}}})
	}
	if _, err := c.Kinesis.ListStreams(ctx, &kinesis.ListStreamsInput{}); err != nil {
		t.Fatalf("ListStreams: %v", err)
	}
	want := map[[3]string]float64{
		{"dynamodb", "PutItem", "throttle"}: 3,
		{"kinesis", "ListStreams", "none"}:  1,
	}
	vec, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(vec) != 1 || vec[0].GetName() != "shardline_lab_apifault_calls_total" {
		t.Fatalf("gathered %d families, want shardline_lab_apifault_calls_total alone", len(vec))
	}
	if n := testutil.CollectAndCount(reg, "shardline_lab_apifault_calls_total"); n != len(want) {
		t.Errorf("%d series, want %d", n, len(want))
	}
	for _, m := range vec[0].GetMetric() {
		var key [3]string
		for i, l := range m.GetLabel() { // labels sorted by name: kind, operation, service
			key[2-i] = l.GetValue()
		}
		if got := m.GetCounter().GetValue(); got != want[key] {
			t.Errorf("%v = %v, want %v", key, got, want[key])
		}
	}
	if n := Total(ddb.Counts(), KindThrottle); n != 3 {
		t.Errorf("snapshot: %d throttles, want 3", n)
	}
}
