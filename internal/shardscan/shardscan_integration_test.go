package shardscan_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/shardline/shardline/internal/lab/emulators"
	"github.com/shardline/shardline/internal/lab/pipelinetest"
	"github.com/shardline/shardline/internal/lab/testkit"
	"github.com/shardline/shardline/internal/setup"
	"github.com/shardline/shardline/internal/shardscan"
)

func TestReaderPositions(t *testing.T) {
	c := emulators.Require(t)
	ctx := context.Background()
	stream := emulators.Name(t, "scan")
	if err := setup.Run(ctx, setup.Clients{Kinesis: c.Kinesis}, setup.Config{StreamName: stream, Shards: 1}, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	pipelinetest.DeleteStreamAtCleanup(t, c.Kinesis, stream)
	put := func(i int) {
		if _, err := c.Kinesis.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String(stream), PartitionKey: aws.String("k"), Data: []byte(fmt.Sprint(i))}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 4; i++ {
		put(i)
	}
	t0 := time.Now()
	testkit.Eventually(t, 2*time.Second, 10*time.Millisecond, func() bool { return time.Since(t0) > 100*time.Millisecond }, "clock")
	for i := 4; i < 6; i++ {
		put(i)
	}
	shard := "shardId-000000000000"
	r := &shardscan.Reader{Client: c.Kinesis, Stream: stream, IteratorTimeout: 500 * time.Millisecond}
	var all []shardscan.Record
	res, err := r.Scan(ctx, shard, shardscan.TrimHorizon(), 0, func(rec shardscan.Record) bool { all = append(all, rec); return true })
	if err != nil || len(all) != 6 || !res.Complete || res.ShardEnd {
		t.Fatalf("scan: %d records, %+v, %v", len(all), res, err)
	}
	for i := 1; i < len(all); i++ {
		if !shardscan.SequenceLess(all[i-1].Sequence, all[i].Sequence) {
			t.Fatalf("records out of order at %d", i)
		}
	}

	t.Run("a bounded scan says it is incomplete", func(t *testing.T) {
		small := &shardscan.Reader{Client: c.Kinesis, Stream: stream, Limit: 3}
		n := 0
		res, err := small.Scan(ctx, shard, shardscan.After(all[0].Sequence), 0, func(shardscan.Record) bool { n++; return true })
		if err != nil || n != 3 || res.Complete {
			t.Fatalf("limited scan: %d, %+v, %v", n, res, err)
		}
	})
	t.Run("first at a time", func(t *testing.T) {
		got, found, err := r.First(ctx, shard, shardscan.AtTime(all[4].Arrival))
		if err != nil || !found || got.Sequence != all[4].Sequence {
			t.Fatalf("got %+v %v %v, want record 4", got, found, err)
		}
	})
	t.Run("nothing at a later time", func(t *testing.T) {
		_, found, err := r.First(ctx, shard, shardscan.AtTime(time.Now()))
		if err != nil || found {
			t.Fatalf("found %v, err %v", found, err)
		}
	})
	t.Run("record before", func(t *testing.T) {
		for i := 1; i < len(all); i++ {
			got, found, err := r.Before(ctx, shard, all[i])
			if err != nil || !found || got.Sequence != all[i-1].Sequence {
				t.Fatalf("before %d: %+v %v %v", i, got, found, err)
			}
		}
		if _, found, err := r.Before(ctx, shard, all[0]); err != nil || found {
			t.Fatalf("before the oldest record: found %v, %v", found, err)
		}
	})
	t.Run("the limit is an error, not an answer", func(t *testing.T) {
		// Only kinesalite needs the fallback read from TRIM_HORIZON that hits the limit: moto, like
		// AWS, answers GetShardIterator AT_TIMESTAMP past the last record.
		emulators.SkipOnMoto(t, "moto answers AT_TIMESTAMP past the tip, so First never falls back to the bounded read")
		small := &shardscan.Reader{Client: c.Kinesis, Stream: stream, Limit: 2, IteratorTimeout: 500 * time.Millisecond}
		_, _, err := small.First(ctx, shard, shardscan.AtTime(time.Now()))
		if !errors.Is(err, shardscan.ErrLimit) {
			t.Fatalf("err = %v, want ErrLimit", err)
		}
	})
	t.Run("a closed shard ends", func(t *testing.T) {
		if _, err := c.Kinesis.SplitShard(ctx, &kinesis.SplitShardInput{
			StreamName: aws.String(stream), ShardToSplit: aws.String(shard), NewStartingHashKey: aws.String("1000"),
		}); err != nil {
			t.Fatal(err)
		}
		testkit.Eventually(t, 30*time.Second, 100*time.Millisecond, func() bool {
			out, err := c.Kinesis.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(stream)})
			return err == nil && out.StreamDescriptionSummary.StreamStatus == "ACTIVE"
		}, "stream not ACTIVE after the split")
		n := 0
		res, err := r.Scan(ctx, shard, shardscan.After(all[3].Sequence), 0, func(shardscan.Record) bool { n++; return true })
		// kinesalite reports the end of a closed shard only one read after the last record
		// (AWS in the same read), so ShardEnd is not checked here.
		if err != nil || n != 2 || !res.Complete {
			t.Fatalf("scan of the closed shard: %d records, %+v, %v", n, res, err)
		}
	})
}
