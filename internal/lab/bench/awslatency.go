package bench

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/shardline/shardline/internal/lab/apifault"
)

// AWS latency, as the shard-limit section adds it with the API proxy (apifault, latency only).
// Each call is delayed by Base + uniform [0, Jitter), and 1 % of the calls by a Pareto tail of
// at least TailMin on top, capped at Max. The figures and where they come from:
//
//   - DynamoDB: "for most atomic operations, such as GetItem and PutItem, you can expect an
//     average latency in single-digit milliseconds" (AWS Knowledge Center, "Why is my DynamoDB
//     table experiencing high latency?", repost.aws/knowledge-center/dynamodb-high-latency):
//     3–7 ms, tail ≥ 10 ms.
//   - Kinesis PutRecords and GetRecords: tens of milliseconds per call (the AWS documentation
//     gives no figure for a call; it publishes PutRecords.Latency and GetRecords.Latency as
//     CloudWatch metrics, and says the propagation delay, put → read, is "typically below
//     1 second" with the KCL's 1 s polling and can be reduced by polling more often, at most 5
//     GetRecords per second per shard: docs.aws.amazon.com/streams/latest/dev/kinesis-low-latency.html):
//     20–40 ms for PutRecords, 20–50 ms for GetRecords, tail ≥ 50 ms; 10–20 ms for the control
//     calls (ListShards, GetShardIterator, DescribeStream).
//   - S3 (first byte): "small requests (for example, less than 512 KB), where median latencies
//     are often in the range of tens of milliseconds" (Amazon S3 performance whitepaper,
//     "Timeouts and retries for latency-sensitive applications"): 20–50 ms, tail ≥ 100 ms.
var (
	dynamoDBLatency = apifault.Latency{Base: 3 * time.Millisecond, Jitter: 4 * time.Millisecond,
		TailP: 0.01, TailMin: 10 * time.Millisecond, Max: 500 * time.Millisecond}
	kinesisControlLatency = apifault.Latency{Base: 10 * time.Millisecond, Jitter: 10 * time.Millisecond,
		TailP: 0.01, TailMin: 50 * time.Millisecond, Max: time.Second}
	kinesisLatency = map[string]apifault.Latency{
		"PutRecords": {Base: 20 * time.Millisecond, Jitter: 20 * time.Millisecond, TailP: 0.01, TailMin: 50 * time.Millisecond, Max: 2 * time.Second},
		"PutRecord":  {Base: 20 * time.Millisecond, Jitter: 20 * time.Millisecond, TailP: 0.01, TailMin: 50 * time.Millisecond, Max: 2 * time.Second},
		"GetRecords": {Base: 20 * time.Millisecond, Jitter: 30 * time.Millisecond, TailP: 0.01, TailMin: 50 * time.Millisecond, Max: 2 * time.Second},
	}
	s3Latency = apifault.Latency{Base: 20 * time.Millisecond, Jitter: 30 * time.Millisecond,
		TailP: 0.01, TailMin: 100 * time.Millisecond, Max: 2 * time.Second}
)

// latencySummary is the one-line form of the figures above, for the table's notes.
const latencySummary = "AWS latency added by apifault: DynamoDB 3–7 ms, Kinesis PutRecords 20–40 ms, GetRecords 20–50 ms, 1% tails"

// awsProxies are latency-only API proxies in front of the local stack's Kinesis, DynamoDB and
// S3, with the latencies above.
type awsProxies struct {
	kinesis, dynamodb, s3 *apifault.Proxy
	cancel                context.CancelFunc
	g                     errgroup.Group
}

// startAWSProxies starts the three proxies in front of the given upstream endpoints.
func startAWSProxies(ctx context.Context, kinesisURL, dynamoDBURL, s3URL string, seed uint64) (*awsProxies, error) {
	p := &awsProxies{}
	var err error
	if p.kinesis, err = apifault.New(apifault.Config{Service: apifault.Kinesis, Upstream: kinesisURL, Seed: seed, LatencyOnly: true,
		Latency: kinesisControlLatency, OpLatency: kinesisLatency}); err != nil {
		return nil, err
	}
	if p.dynamodb, err = apifault.New(apifault.Config{Service: apifault.DynamoDB, Upstream: dynamoDBURL, Seed: seed + 1, LatencyOnly: true,
		Latency: dynamoDBLatency}); err != nil {
		return nil, err
	}
	if p.s3, err = apifault.New(apifault.Config{Service: apifault.S3, Upstream: s3URL, Seed: seed + 2, LatencyOnly: true,
		Latency: s3Latency}); err != nil {
		return nil, err
	}
	rctx, cancel := context.WithCancel(ctx)
	p.cancel = cancel
	for _, px := range []*apifault.Proxy{p.kinesis, p.dynamodb, p.s3} {
		p.g.Go(func() error { return px.Run(rctx) })
	}
	return p, nil
}

// env are the environment entries that point a child process at the proxies.
func (p *awsProxies) env() []string {
	return []string{
		"AWS_ENDPOINT_URL_KINESIS=" + p.kinesis.URL(),
		"AWS_ENDPOINT_URL_DYNAMODB=" + p.dynamodb.URL(),
		"AWS_ENDPOINT_URL_S3=" + p.s3.URL(),
	}
}

// stop stops the proxies and waits for them.
func (p *awsProxies) stop() error {
	p.cancel()
	if err := p.g.Wait(); err != nil {
		return fmt.Errorf("API proxies: %w", err)
	}
	return nil
}
