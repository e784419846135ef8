package apifault

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/shardline/shardline/internal/awsclients"
	"github.com/shardline/shardline/internal/lab/emulators"
)

// upstream returns the real endpoint of a service from the local stack's environment.
func upstream(t *testing.T, svc string) string {
	t.Helper()
	u := os.Getenv("AWS_ENDPOINT_URL_" + svc)
	if u == "" {
		t.Fatalf("AWS_ENDPOINT_URL_%s not set: eval \"$(infra/local/stack.sh env)\"", svc)
	}
	return u
}

// wantThrottled fails the test unless err is a T that the SDK retries as a throttle, with the
// request ID the proxy sent.
func wantThrottled[T error](t *testing.T, op string, err error) {
	t.Helper()
	if !isType[T](err) {
		t.Fatalf("%s: %v, want %T", op, err, *new(T))
	}
	if got := classify(err); !got.throttle || !got.retryable || got.requestID == "" {
		t.Errorf("%s: %v classified %+v, want a retryable throttle with a request ID", op, err, got)
	}
}

// TestIntegrationDynamoDB puts the proxy in front of the local DynamoDB server: each injected
// fault reaches the SDK as AWS's would, and a lost response to a conditional PutItem committed
// upstream although the client saw an error, so its retry fails the condition.
func TestIntegrationDynamoDB(t *testing.T) {
	direct := emulators.Require(t)
	ctx := context.Background()
	table := emulators.Name(t, "apifault")
	if _, err := direct.DynamoDB.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(table),
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash}},
		BillingMode:          ddbtypes.BillingModePayPerRequest,
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = direct.DynamoDB.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(table)})
	})
	if err := dynamodb.NewTableExistsWaiter(direct.DynamoDB).Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)}, time.Minute); err != nil {
		t.Fatal(err)
	}

	// One proxy, a different fault per operation.
	p := startProxy(t, Config{Service: DynamoDB, Upstream: upstream(t, "DYNAMODB"), Seed: 3, Ops: map[string]Rates{
		"PutItem":       {Lost: 1},
		"UpdateItem":    {Throttle: 1},
		"DeleteItem":    {ServerError: 1},
		"Query":         {Reset: 1},
		"DescribeTable": {Throttle: 1},
	}})
	c := newClients(direct.Config, "", "", p.URL())
	key := map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "k1"}}

	t.Run("lost conditional PutItem committed", func(t *testing.T) {
		put := &dynamodb.PutItemInput{TableName: aws.String(table), ConditionExpression: aws.String("attribute_not_exists(pk)"),
			Item: map[string]ddbtypes.AttributeValue{"pk": key["pk"], "v": &ddbtypes.AttributeValueMemberN{Value: "1"}}}
		_, err := c.DynamoDB.PutItem(ctx, put)
		if err == nil {
			t.Fatal("PutItem through a lost response succeeded")
		}
		if got := classify(err); !got.retryable {
			t.Errorf("SDK would not retry the lost response: %v", err)
		}
		got, err := direct.DynamoDB.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: key, ConsistentRead: aws.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
		if got.Item == nil {
			t.Fatal("the write whose response was lost did not commit upstream")
		}
		// What the SDK's retry meets: the write already happened.
		_, err = direct.DynamoDB.PutItem(ctx, put)
		if !isType[*ddbtypes.ConditionalCheckFailedException](err) {
			t.Errorf("retry of the committed write: %v, want ConditionalCheckFailedException", err)
		}
		if n := countOf(p, "PutItem", KindLost); n != 1 {
			t.Errorf("counted %d lost PutItem, want 1", n)
		}
	})
	t.Run("GetItem forwarded", func(t *testing.T) {
		got, err := c.DynamoDB.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: key, ConsistentRead: aws.Bool(true)})
		if err != nil || got.Item == nil {
			t.Fatalf("GetItem through the proxy: item %v, err %v", got, err)
		}
	})
	t.Run("UpdateItem throttled", func(t *testing.T) {
		_, err := c.DynamoDB.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(table), Key: key,
			UpdateExpression: aws.String("SET v = :v"), ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":v": &ddbtypes.AttributeValueMemberN{Value: "2"}}})
		wantThrottled[*ddbtypes.ProvisionedThroughputExceededException](t, "UpdateItem", err)
	})
	t.Run("DescribeTable throttled", func(t *testing.T) {
		_, err := c.DynamoDB.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
		wantThrottled[*ddbtypes.ThrottlingException](t, "DescribeTable", err)
	})
	t.Run("DeleteItem 500 not applied", func(t *testing.T) {
		_, err := c.DynamoDB.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(table), Key: key})
		if !isType[*ddbtypes.InternalServerError](err) || !classify(err).retryable {
			t.Fatalf("DeleteItem: %v, want a retryable InternalServerError", err)
		}
		got, err := direct.DynamoDB.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: key, ConsistentRead: aws.Bool(true)})
		if err != nil || got.Item == nil {
			t.Fatalf("the item is gone after an injected 500 (it must not be forwarded): %v", err)
		}
	})
	t.Run("Query reset", func(t *testing.T) {
		_, err := c.DynamoDB.Query(ctx, &dynamodb.QueryInput{TableName: aws.String(table), KeyConditionExpression: aws.String("pk = :k"),
			ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":k": key["pk"]}})
		if err == nil || !classify(err).retryable {
			t.Fatalf("Query: %v, want a retryable connection error", err)
		}
	})
}

// TestIntegrationKinesis puts the proxy in front of the local Kinesis server.
func TestIntegrationKinesis(t *testing.T) {
	direct := emulators.Require(t)
	ctx := context.Background()
	stream := emulators.Name(t, "apifault")
	if _, err := direct.Kinesis.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(stream), ShardCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = direct.Kinesis.DeleteStream(context.Background(), &kinesis.DeleteStreamInput{StreamName: aws.String(stream)})
	})
	if err := kinesis.NewStreamExistsWaiter(direct.Kinesis).Wait(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String(stream)}, time.Minute,
		func(o *kinesis.StreamExistsWaiterOptions) {
			o.MinDelay = 100 * time.Millisecond
			o.MaxDelay = time.Second
		}); err != nil {
		t.Fatal(err)
	}
	p := startProxy(t, Config{Service: Kinesis, Upstream: upstream(t, "KINESIS"), Seed: 3, Ops: map[string]Rates{
		"PutRecord":             {Lost: 1},
		"PutRecords":            {Throttle: 1},
		"ListShards":            {Throttle: 1},
		"DescribeStreamSummary": {ServerError: 1},
		"GetShardIterator":      {Reset: 1},
	}})
	c := newClients(direct.Config, "", p.URL(), "")

	t.Run("lost PutRecord committed", func(t *testing.T) {
		_, err := c.Kinesis.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String(stream), PartitionKey: aws.String("k"), Data: []byte("lost")})
		if err == nil || !classify(err).retryable {
			t.Fatalf("PutRecord: %v, want a retryable connection error", err)
		}
		shards, err := direct.Kinesis.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String(stream)})
		if err != nil {
			t.Fatal(err)
		}
		it, err := direct.Kinesis.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String(stream),
			ShardId: shards.Shards[0].ShardId, ShardIteratorType: ktypes.ShardIteratorTypeTrimHorizon})
		if err != nil {
			t.Fatal(err)
		}
		recs, err := direct.Kinesis.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
		if err != nil {
			t.Fatal(err)
		}
		if len(recs.Records) != 1 || string(recs.Records[0].Data) != "lost" {
			t.Fatalf("stream holds %d records, want the one whose response was lost", len(recs.Records))
		}
	})
	t.Run("PutRecords throttled", func(t *testing.T) {
		_, err := c.Kinesis.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(stream),
			Records: []ktypes.PutRecordsRequestEntry{{PartitionKey: aws.String("k"), Data: []byte("x")}}})
		wantThrottled[*ktypes.ProvisionedThroughputExceededException](t, "PutRecords", err)
	})
	t.Run("ListShards throttled", func(t *testing.T) {
		_, err := c.Kinesis.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String(stream)})
		wantThrottled[*ktypes.LimitExceededException](t, "ListShards", err)
	})
	t.Run("DescribeStreamSummary 500", func(t *testing.T) {
		_, err := c.Kinesis.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(stream)})
		if got := classify(err); got.code != "InternalFailure" || !got.retryable || got.throttle {
			t.Fatalf("DescribeStreamSummary: %v classified %+v, want a retryable InternalFailure", err, got)
		}
	})
	t.Run("GetShardIterator reset", func(t *testing.T) {
		_, err := c.Kinesis.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String(stream),
			ShardId: aws.String("shardId-000000000000"), ShardIteratorType: ktypes.ShardIteratorTypeLatest})
		if err == nil || !classify(err).retryable {
			t.Fatalf("GetShardIterator: %v, want a retryable connection error", err)
		}
	})
	t.Run("DescribeStream forwarded", func(t *testing.T) {
		if _, err := c.Kinesis.DescribeStream(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String(stream)}); err != nil {
			t.Fatalf("DescribeStream through the proxy: %v", err)
		}
	})
}

// TestIntegrationS3 puts the proxy in front of MinIO, which checks SigV4: calls forwarded
// through the proxy (an 8 MiB PutObject included) keep valid signatures, injected errors reach
// the SDK as S3's would, and a lost PutObject is stored although the client saw an error.
func TestIntegrationS3(t *testing.T) {
	direct := emulators.Require(t)
	ctx := context.Background()
	bucket := emulators.Name(t, "apifault")
	if _, err := direct.S3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emptyBucket(t, direct, bucket) })

	clean := startProxy(t, Config{Service: S3, Upstream: upstream(t, "S3"), Latency: Latency{Base: time.Millisecond}})
	faulty := startProxy(t, Config{Service: S3, Upstream: upstream(t, "S3"), Seed: 3, Ops: map[string]Rates{
		"PutObject":    {Lost: 1},
		"GetObject":    {Throttle: 1},
		"HeadObject":   {ServerError: 1},
		"DeleteObject": {Reset: 1},
	}})
	cc := newClients(direct.Config, clean.URL(), "", "")
	fc := newClients(direct.Config, faulty.URL(), "", "")

	big := bytes.Repeat([]byte("shardline"), 1<<20) // 9 MiB
	t.Run("forwarded calls keep SigV4 valid", func(t *testing.T) {
		if _, err := cc.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("big"), Body: bytes.NewReader(big)}); err != nil {
			t.Fatalf("PutObject through the proxy: %v", err)
		}
		got, err := cc.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("big")})
		if err != nil {
			t.Fatalf("GetObject through the proxy: %v", err)
		}
		body, err := io.ReadAll(got.Body)
		got.Body.Close()
		if err != nil || !bytes.Equal(body, big) {
			t.Fatalf("read back %d bytes (err %v), want the %d written", len(body), err, len(big))
		}
		list, err := cc.S3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
		if err != nil || len(list.Contents) != 1 {
			t.Fatalf("ListObjectsV2 through the proxy: %v, %v", list, err)
		}
		if n := countOf(clean, "PutObject", KindNone) + countOf(clean, "GetObject", KindNone) + countOf(clean, "ListObjectsV2", KindNone); n != 3 {
			t.Errorf("clean proxy counted %d forwarded calls, want 3: %+v", n, clean.Counts())
		}
	})
	t.Run("lost PutObject stored", func(t *testing.T) {
		_, err := fc.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("lost"), Body: bytes.NewReader([]byte("lost")),
			IfNoneMatch: aws.String("*")})
		if err == nil || !classify(err).retryable {
			t.Fatalf("PutObject: %v, want a retryable connection error", err)
		}
		if _, err := direct.S3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("lost")}); err != nil {
			t.Fatalf("the object whose response was lost is not stored: %v", err)
		}
	})
	t.Run("GetObject slow down", func(t *testing.T) {
		_, err := fc.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("big")})
		if got := classify(err); got.code != "SlowDown" || !got.throttle || !got.retryable || got.requestID == "" {
			t.Fatalf("GetObject: %v classified %+v, want a SlowDown throttle", err, got)
		}
	})
	t.Run("HeadObject 500", func(t *testing.T) {
		_, err := fc.S3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("big")})
		var nf *s3types.NotFound
		if errors.As(err, &nf) || !classify(err).retryable {
			t.Fatalf("HeadObject: %v, want a retryable 500", err)
		}
	})
	t.Run("DeleteObject reset not applied", func(t *testing.T) {
		_, err := fc.S3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("big")})
		if err == nil || !classify(err).retryable {
			t.Fatalf("DeleteObject: %v, want a retryable connection error", err)
		}
		if _, err := direct.S3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("big")}); err != nil {
			t.Fatalf("the object is gone after a reset before forwarding: %v", err)
		}
	})
}

func emptyBucket(t *testing.T, c awsclients.Clients, bucket string) {
	t.Helper()
	ctx := context.Background()
	list, err := c.S3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err == nil {
		for _, o := range list.Contents {
			_, _ = c.S3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: o.Key})
		}
	}
	_, _ = c.S3.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)})
}
