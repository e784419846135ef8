// Package replaytest gives the integration tests of the failure-queue replay a real SQS wire
// protocol server, and failure-queue messages as Lambda writes them.
//
// SQS uses AWS_ENDPOINT_URL_SQS when it is set, and otherwise Moto: the stack's moto_server when
// the integration tests run against moto (SHARDLINE_STACK=moto), or one of the test's own on a
// free port, stopped when the test ends.
package replaytest

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/shardline/shardline/internal/awsclients"
	"github.com/shardline/shardline/internal/envelope"
	"github.com/shardline/shardline/internal/lab/emulators"
	"github.com/shardline/shardline/internal/lab/proc"
	"github.com/shardline/shardline/internal/shardmap"
)

// SQS returns a client for an SQS server and its endpoint URL (for AWS_ENDPOINT_URL_SQS).
func SQS(t testing.TB, c awsclients.Clients) (*sqs.Client, string) {
	t.Helper()
	endpoint := os.Getenv("AWS_ENDPOINT_URL_SQS")
	if endpoint == "" {
		endpoint = Moto(t)
	}
	return sqs.NewFromConfig(c.Config, func(o *sqs.Options) { o.BaseEndpoint = aws.String(endpoint) }), endpoint
}

// Moto returns the URL of a moto_server: the stack's when the integration tests run against moto
// (SHARDLINE_STACK=moto), otherwise one started on a free port for this test and stopped when it
// ends. It serves every AWS API moto has (SQS, and DynamoDB's time to live, which dynalite lacks).
func Moto(t testing.TB) string {
	t.Helper()
	if emulators.Stack() == emulators.StackMoto {
		return os.Getenv("AWS_ENDPOINT_URL_KINESIS")
	}
	return startMoto(t)
}

// startMoto starts a moto_server on a free port and returns its URL.
func startMoto(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		t.Fatalf("SQS: AWS_ENDPOINT_URL_SQS is not set and moto_server is not installed: %v", err)
	}
	addr, err := proc.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	p, err := proc.Start(bin, t.TempDir(), "", "moto", "-H", host, "-p", port)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Stop(10 * time.Second); err != nil {
			t.Logf("moto_server: %v", err)
		}
	})
	url := "http://" + addr
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.WaitReady(ctx, url+"/moto-api/", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	return url
}

// Queue creates a queue with a unique name and the given visibility timeout (whole seconds),
// deleted when the test ends, and returns its URL.
func Queue(t testing.TB, c *sqs.Client, visibility time.Duration) string {
	t.Helper()
	out, err := c.CreateQueue(context.Background(), &sqs.CreateQueueInput{
		QueueName:  aws.String(emulators.Name(t, "failures")), // at most 63 characters,
		Attributes: map[string]string{string(sqstypes.QueueAttributeNameVisibilityTimeout): strconv.Itoa(int(visibility / time.Second))},
	})
	if err != nil {
		t.Fatalf("create queue: %v", err)
	}
	url := aws.ToString(out.QueueUrl)
	t.Cleanup(func() { _, _ = c.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: aws.String(url)}) })
	return url
}

// Send puts one message on the queue and returns its message ID.
func Send(t testing.TB, c *sqs.Client, url, body string) string {
	t.Helper()
	out, err := c.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(body)})
	if err != nil {
		t.Fatalf("send message: %v", err)
	}
	return aws.ToString(out.MessageId)
}

// Depth is how many messages the queue holds, visible or in flight.
func Depth(t testing.TB, c *sqs.Client, url string) int {
	t.Helper()
	out, err := c.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{
			sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
		},
	})
	if err != nil {
		t.Fatalf("queue attributes: %v", err)
	}
	n := 0
	for _, name := range []sqstypes.QueueAttributeName{
		sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
	} {
		v, err := strconv.Atoi(out.Attributes[string(name)])
		if err != nil {
			t.Fatalf("queue attribute %s = %q", name, out.Attributes[string(name)])
		}
		n += v
	}
	return n
}

// Received reports whether a receive (waiting up to wait) returns the message id; a message it
// returns is hidden again for the queue's visibility timeout.
func Received(t testing.TB, c *sqs.Client, url, id string, wait time.Duration) bool {
	t.Helper()
	out, err := c.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
		QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: int32(wait / time.Second),
	})
	if err != nil {
		t.Fatalf("receive: %v", err)
	}
	for _, m := range out.Messages {
		if aws.ToString(m.MessageId) == id {
			return true
		}
	}
	return false
}

// S3Notification is an S3 event notification of the put of key, as S3 sends it (the key
// URL-encoded, a space as '+').
func S3Notification(bucket, key, sequencer string) string {
	rec := map[string]any{
		"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
		"eventTime": "2026-03-01T12:00:00.000Z", "eventName": "ObjectCreated:Put",
		"s3": map[string]any{
			"s3SchemaVersion": "1.0",
			"bucket":          map[string]any{"name": bucket, "arn": "arn:aws:s3:::" + bucket},
			"object":          map[string]any{"key": url.QueryEscape(key), "size": 1024, "eTag": "d41d8cd98f00b204e9800998ecf8427e", "sequencer": sequencer},
		},
	}
	b, _ := json.Marshal(map[string]any{"Records": []any{rec}})
	return string(b)
}

// InvocationRecord wraps a payload the way a Lambda on-failure destination does.
func InvocationRecord(payload string) string {
	return fmt.Sprintf(`{"version":"1.0","timestamp":"2026-03-01T12:00:05.568Z",`+
		`"requestContext":{"requestId":"e4b46cbf-b738-4a5e-8880-a18cdf61200e","functionArn":"arn:aws:lambda:us-east-1:123456789012:function:shardline-forwarder:$LATEST","condition":"RetriesExhausted","approximateInvokeCount":3},`+
		`"requestPayload":%s,"responseContext":{"statusCode":200,"executedVersion":"$LATEST","functionError":"Unhandled"},`+
		`"responsePayload":{"errorMessage":"forward 1 events: 1 of 1 records did not reach Kinesis","errorType":"wrapError"}}`, payload)
}

// StreamEvents reads every record of a one-shard stream from TRIM_HORIZON and decodes it.
func StreamEvents(t testing.TB, kc *kinesis.Client, stream string) []envelope.Event {
	t.Helper()
	ctx := context.Background()
	shards, err := shardmap.List(ctx, kc, stream)
	if err != nil {
		t.Fatal(err)
	}
	if len(shards) != 1 {
		t.Fatalf("stream %s has %d shards, want 1", stream, len(shards))
	}
	it, err := kc.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String(stream),
		ShardId: shards[0].ShardId, ShardIteratorType: ktypes.ShardIteratorTypeTrimHorizon})
	if err != nil {
		t.Fatal(err)
	}
	var events []envelope.Event
	// Stop at the first empty read at the tip (kinesalite), or after a few empty reads.
	for iter, empty := it.ShardIterator, 0; iter != nil && empty < 3; {
		out, err := kc.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range out.Records {
			ev, err := envelope.Decode(r.Data)
			if err != nil {
				t.Fatalf("record %s: %v", aws.ToString(r.SequenceNumber), err)
			}
			events = append(events, ev)
		}
		if len(out.Records) == 0 {
			if aws.ToInt64(out.MillisBehindLatest) == 0 {
				break
			}
			empty++
		}
		iter = out.NextShardIterator
	}
	return events
}
