package deploytest

import (
	"errors"
	"net/url"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// TestDestroyed checks that `terraform destroy` left nothing behind that costs money or holds
// data: stream, tables, buckets, function, roles.
func TestDestroyed(t *testing.T) {
	e := setup(t, "destroyed")

	t.Run("stream", func(t *testing.T) {
		_, err := kinesis.NewFromConfig(e.cfg).DescribeStreamSummary(e.ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(e.out.str(t, "stream_name"))})
		if err == nil {
			t.Error("stream still exists")
		}
	})
	t.Run("tables", func(t *testing.T) {
		db := dynamodb.NewFromConfig(e.cfg)
		for _, o := range []string{"lease_table", "ledger_table", "dead_letter_table"} {
			if _, err := db.DescribeTable(e.ctx, &dynamodb.DescribeTableInput{TableName: aws.String(e.out.str(t, o))}); err == nil {
				t.Errorf("table %s still exists", e.out.str(t, o))
			}
		}
	})
	t.Run("buckets", func(t *testing.T) {
		sc := s3.NewFromConfig(e.cfg, func(o *s3.Options) { o.UsePathStyle = true })
		for _, o := range []string{"input_bucket", "output_bucket"} {
			if _, err := sc.HeadBucket(e.ctx, &s3.HeadBucketInput{Bucket: aws.String(e.out.str(t, o))}); err == nil {
				t.Errorf("bucket %s still exists", e.out.str(t, o))
			}
		}
	})
	t.Run("function", func(t *testing.T) {
		var v any
		err := e.raw.rest(e.ctx, "lambda", "/2015-03-31/functions/"+e.out.str(t, "forwarder_function_name"), &v)
		var he *httpError
		if !errors.As(err, &he) || he.status != 404 {
			t.Errorf("GetFunction after destroy: %v, want 404", err)
		}
	})
	t.Run("alarms", func(t *testing.T) {
		var names []string
		e.out.into(t, "alarm_names", &names)
		alarms := describeAlarms(t, e)
		for _, n := range names {
			if _, ok := alarms[n]; ok {
				t.Errorf("alarm %s still exists", n)
			}
		}
		var attrs struct{}
		err := e.raw.query(e.ctx, "sns", "2010-03-31", "GetTopicAttributes", url.Values{"TopicArn": {e.out.str(t, "alarm_topic_arn")}}, &attrs)
		var he *httpError
		if !errors.As(err, &he) || he.status != 404 {
			t.Errorf("GetTopicAttributes after destroy: %v, want 404", err)
		}
	})
	t.Run("roles", func(t *testing.T) {
		for _, o := range []string{"forwarder_role_name", "worker_task_role_name", "worker_execution_role_name"} {
			var v struct{}
			err := e.raw.query(e.ctx, "iam", "2010-05-08", "GetRole", url.Values{"RoleName": {e.out.str(t, o)}}, &v)
			var he *httpError
			if !errors.As(err, &he) || he.status != 404 {
				t.Errorf("GetRole %s after destroy: %v, want 404", e.out.str(t, o), err)
			}
		}
	})
}
