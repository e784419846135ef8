package deploytest

import (
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// The production-readiness pieces of issue 14: alarms and their topic, table TTL, the forwarder's
// reserved concurrency, the route of the worker metrics to CloudWatch, and the dashboard.

type alarm struct {
	Name       string   `xml:"AlarmName"`
	Namespace  string   `xml:"Namespace"`
	Metric     string   `xml:"MetricName"`
	Threshold  float64  `xml:"Threshold"`
	Actions    []string `xml:"AlarmActions>member"`
	OKActions  []string `xml:"OKActions>member"`
	Comparison string   `xml:"ComparisonOperator"`
	Queries    []string `xml:"Metrics>member>Id"`
}

func describeAlarms(t *testing.T, e *env) map[string]alarm {
	t.Helper()
	var out struct {
		Alarms []alarm `xml:"DescribeAlarmsResult>MetricAlarms>member"`
	}
	if err := e.raw.query(e.ctx, "monitoring", "2010-08-01", "DescribeAlarms", url.Values{"MaxRecords": {"100"}}, &out); err != nil {
		t.Fatal(err)
	}
	m := map[string]alarm{}
	for _, a := range out.Alarms {
		m[a.Name] = a
	}
	return m
}

func TestAlarms(t *testing.T) {
	e := setup(t, "deployed")
	topic := e.out.str(t, "alarm_topic_arn")
	var names []string
	e.out.into(t, "alarm_names", &names)
	name := e.out.str(t, "ecs_cluster_name") // the cluster is named after the deployment
	want := []string{"failure-queue-not-empty", "iterator-age-near-retention", "forwarder-errors", "forwarder-throttled",
		"stream-write-throttled", "workers-below-minimum", "lease-table-throttled", "ledger-table-throttled",
		"dead-letter-table-throttled"}
	if !e.out.isNull("worker_metrics_namespace") {
		want = append(want, "dead-letters", "checkpoint-lag")
	}
	var wantNames []string
	for _, w := range want {
		wantNames = append(wantNames, name+"-"+w)
	}
	sort.Strings(wantNames)
	sort.Strings(names)
	if strings.Join(names, ",") != strings.Join(wantNames, ",") {
		t.Errorf("alarm_names = %v, want %v", names, wantNames)
	}

	alarms := describeAlarms(t, e)
	for _, n := range wantNames {
		a, ok := alarms[n]
		if !ok {
			t.Errorf("alarm %s does not exist", n)
			continue
		}
		if !contains(a.Actions, topic) || !contains(a.OKActions, topic) {
			t.Errorf("alarm %s notifies %v when firing and %v when clearing, want the topic %s in both", n, a.Actions, a.OKActions, topic)
		}
	}
	check := func(suffix, namespace, metric, cmp string, threshold float64) {
		t.Helper()
		a := alarms[name+"-"+suffix]
		if a.Namespace != namespace || a.Metric != metric || a.Comparison != cmp || a.Threshold != threshold {
			t.Errorf("alarm %s = %s %s %s %v, want %s %s %s %v", a.Name, a.Namespace, a.Metric, a.Comparison, a.Threshold, namespace, metric, cmp, threshold)
		}
	}
	retentionMs := float64(e.out.num(t, "stream_retention_hours")) * 3600 * 1000
	check("failure-queue-not-empty", "AWS/SQS", "ApproximateNumberOfMessagesVisible", "GreaterThanThreshold", 0)
	check("iterator-age-near-retention", "AWS/Kinesis", "GetRecords.IteratorAgeMilliseconds", "GreaterThanThreshold", retentionMs/4)
	check("forwarder-errors", "AWS/Lambda", "Errors", "GreaterThanThreshold", 0)
	check("forwarder-throttled", "AWS/Lambda", "Throttles", "GreaterThanThreshold", 0)
	check("stream-write-throttled", "AWS/Kinesis", "WriteProvisionedThroughputExceeded", "GreaterThanThreshold", 0)
	check("workers-below-minimum", "ECS/ContainerInsights", "RunningTaskCount", "LessThanThreshold", 1)
	if !e.out.isNull("worker_metrics_namespace") {
		ns := e.out.str(t, "worker_metrics_namespace")
		check("dead-letters", ns, "shardline_worker_dead_letters_total", "GreaterThanThreshold", 0)
		check("checkpoint-lag", ns, "shardline_worker_checkpoint_lag_seconds", "GreaterThanThreshold", 900)
	}
	for _, table := range []string{"lease", "ledger", "dead-letter"} {
		a := alarms[name+"-"+table+"-table-throttled"]
		q := append([]string(nil), a.Queries...)
		sort.Strings(q)
		if got := strings.Join(q, ","); got != "reads,throttled,writes" {
			t.Errorf("alarm %s has metric queries %q, want throttled = reads + writes", a.Name, got)
		}
	}
	// The running-tasks alarm reads Container Insights.
	var insights bool
	e.out.into(t, "container_insights", &insights)
	if !insights {
		t.Error("Container Insights is off, so the workers-below-minimum alarm has no data")
	}
}

func TestAlarmTopic(t *testing.T) {
	e := setup(t, "deployed")
	topic := e.out.str(t, "alarm_topic_arn")
	var attrs struct {
		Entries []struct {
			Key   string `xml:"key"`
			Value string `xml:"value"`
		} `xml:"GetTopicAttributesResult>Attributes>entry"`
	}
	if err := e.raw.query(e.ctx, "sns", "2010-03-31", "GetTopicAttributes", url.Values{"TopicArn": {topic}}, &attrs); err != nil {
		t.Fatal(err)
	}
	a := map[string]string{}
	for _, en := range attrs.Entries {
		a[en.Key] = en.Value
	}
	if a["KmsMasterKeyId"] == "" || strings.Contains(a["KmsMasterKeyId"], "alias/aws/sns") {
		t.Errorf("topic key %q, want a customer managed key (CloudWatch cannot use alias/aws/sns)", a["KmsMasterKeyId"])
	}
	var subs struct {
		Members []struct {
			Protocol string `xml:"Protocol"`
			Endpoint string `xml:"Endpoint"`
		} `xml:"ListSubscriptionsByTopicResult>Subscriptions>member"`
	}
	if err := e.raw.query(e.ctx, "sns", "2010-03-31", "ListSubscriptionsByTopic", url.Values{"TopicArn": {topic}}, &subs); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, m := range subs.Members {
		got[m.Protocol] = m.Endpoint
	}
	// test.tfvars subscribes one address and one URL.
	if got["email"] != "oncall@example.com" || got["https"] != "https://alerts.example.com/shardline" {
		t.Errorf("subscriptions %v, want the e-mail and HTTPS endpoints of test.tfvars", got)
	}
}

func TestTablesTTL(t *testing.T) {
	e := setup(t, "deployed")
	db := dynamodb.NewFromConfig(e.cfg)
	attr := e.out.str(t, "table_ttl_attribute")
	if attr != "expires_at" {
		t.Errorf("table_ttl_attribute = %q, want expires_at (the attribute the workers write)", attr)
	}
	for _, tc := range []struct {
		output string
		ttl    bool
	}{{"lease_table", false}, {"ledger_table", true}, {"dead_letter_table", true}} {
		d, err := db.DescribeTimeToLive(e.ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(e.out.str(t, tc.output))})
		if err != nil {
			t.Fatal(err)
		}
		ttl := d.TimeToLiveDescription
		on := ttl != nil && ttl.TimeToLiveStatus == ddbtypes.TimeToLiveStatusEnabled
		if on != tc.ttl || (on && aws.ToString(ttl.AttributeName) != attr) {
			t.Errorf("%s TTL = %+v, want enabled %v on %s", tc.output, ttl, tc.ttl, attr)
		}
	}
	if got, want := e.out.num(t, "ledger_tombstone_min_ttl_hours"), e.out.num(t, "stream_retention_hours")+48; got != want {
		t.Errorf("ledger_tombstone_min_ttl_hours = %d, want retention + 48 = %d", got, want)
	}
}

func TestForwarderConcurrency(t *testing.T) {
	e := setup(t, "deployed")
	var c struct {
		Reserved *int `json:"ReservedConcurrentExecutions"`
	}
	if err := e.raw.rest(e.ctx, "lambda", "/2019-09-30/functions/"+e.out.str(t, "forwarder_function_name")+"/concurrency", &c); err != nil {
		t.Fatal(err)
	}
	want := e.out.num(t, "forwarder_reserved_concurrency")
	if want != 10*e.out.num(t, "shard_count") {
		t.Errorf("forwarder_reserved_concurrency = %d, want the derived 10 per shard (%d shards)", want, e.out.num(t, "shard_count"))
	}
	if c.Reserved == nil || *c.Reserved != want {
		t.Errorf("reserved concurrency = %v, want %d", c.Reserved, want)
	}
}

// checkCollector checks the metrics collector sidecar of the task definition: not essential, its
// configuration scraping the worker and exporting to the metrics log group, its log group present.
func checkCollector(t *testing.T, e *env, essential bool, env []kv, logOptions map[string]string) {
	t.Helper()
	if essential {
		t.Error("the metrics collector is essential: a collector failure would stop the worker")
	}
	var config string
	for _, v := range env {
		if v.Name == "AOT_CONFIG_CONTENT" {
			config = v.Value
		}
	}
	group := e.out.str(t, "worker_metrics_log_group")
	for _, want := range []string{
		"awsemf", "prometheus", `"127.0.0.1:9102"`, `"namespace": "` + e.out.str(t, "worker_metrics_namespace") + `"`,
		`"log_group_name": "` + group + `"`, "shardline_worker_dead_letters_total", "shardline_worker_checkpoint_lag_seconds",
	} {
		if !strings.Contains(config, want) {
			t.Errorf("AOT_CONFIG_CONTENT lacks %s:\n%s", want, config)
		}
	}
	if logOptions["awslogs-group"] != e.out.str(t, "worker_log_group") {
		t.Errorf("collector logs to %v, want the worker log group", logOptions)
	}
	var groups struct {
		LogGroups []struct {
			Name string `json:"logGroupName"`
		} `json:"logGroups"`
	}
	if err := e.raw.jsonRPC(e.ctx, "logs", "Logs_20140328.DescribeLogGroups", map[string]any{"logGroupNamePrefix": group}, &groups); err != nil {
		t.Fatal(err)
	}
	if len(groups.LogGroups) != 1 || groups.LogGroups[0].Name != group {
		t.Errorf("log groups %+v, want %s", groups.LogGroups, group)
	}
}

func TestDashboard(t *testing.T) {
	e := setup(t, "deployed")
	var d struct {
		Body string `xml:"GetDashboardResult>DashboardBody"`
	}
	if err := e.raw.query(e.ctx, "monitoring", "2010-08-01", "GetDashboard", url.Values{"DashboardName": {e.out.str(t, "dashboard_name")}}, &d); err != nil {
		t.Fatal(err)
	}
	var body struct {
		Widgets []struct {
			Properties struct {
				Title   string  `json:"title"`
				Metrics [][]any `json:"metrics"`
			} `json:"properties"`
		} `json:"widgets"`
	}
	if err := json.Unmarshal([]byte(d.Body), &body); err != nil {
		t.Fatalf("dashboard body: %v (%s)", err, d.Body)
	}
	seen := map[string]bool{}
	for _, w := range body.Widgets {
		for _, m := range w.Properties.Metrics {
			if len(m) >= 2 {
				seen[fmt.Sprint(m[0])+" "+fmt.Sprint(m[1])] = true
			}
		}
	}
	ns := e.out.str(t, "worker_metrics_namespace")
	for _, want := range []string{
		"AWS/Kinesis GetRecords.IteratorAgeMilliseconds", "AWS/Lambda Throttles", "AWS/SQS ApproximateNumberOfMessagesVisible",
		"AWS/DynamoDB WriteThrottleEvents", "ECS/ContainerInsights RunningTaskCount",
		ns + " shardline_worker_records_total", ns + " shardline_worker_dead_letters_total", ns + " shardline_worker_checkpoint_lag_seconds",
	} {
		if !seen[want] {
			t.Errorf("dashboard shows no %s", want)
		}
	}
}
