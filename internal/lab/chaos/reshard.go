package chaos

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/shardline/shardline/internal/lab/quiesce"
	"github.com/shardline/shardline/internal/shardmap"
)

// openShards lists the stream's open shards, sorted by starting hash key.
func openShards(ctx context.Context, kc *kinesis.Client, stream string) ([]types.Shard, error) {
	all, err := shardmap.List(ctx, kc, stream)
	if err != nil {
		return nil, err
	}
	var open []types.Shard
	for _, s := range all {
		if s.SequenceNumberRange == nil || s.SequenceNumberRange.EndingSequenceNumber == nil {
			open = append(open, s)
		}
	}
	sort.Slice(open, func(i, j int) bool {
		return hashKey(open[i].HashKeyRange.StartingHashKey).Cmp(hashKey(open[j].HashKeyRange.StartingHashKey)) < 0
	})
	return open, nil
}

func hashKey(s *string) *big.Int {
	n, _ := new(big.Int).SetString(aws.ToString(s), 10)
	if n == nil {
		return new(big.Int)
	}
	return n
}

// split splits a random open shard at the middle of its hash range.
func split(ctx context.Context, kc *kinesis.Client, stream string, rng *rand.Rand) (string, error) {
	open, err := openShards(ctx, kc, stream)
	if err != nil {
		return "", err
	}
	s := open[rng.IntN(len(open))]
	lo, hi := hashKey(s.HashKeyRange.StartingHashKey), hashKey(s.HashKeyRange.EndingHashKey)
	mid := new(big.Int).Add(lo, hi)
	mid.Rsh(mid, 1)
	mid.Add(mid, big.NewInt(1))
	_, err = kc.SplitShard(ctx, &kinesis.SplitShardInput{
		StreamName: aws.String(stream), ShardToSplit: s.ShardId, NewStartingHashKey: aws.String(mid.String()),
	})
	if err != nil {
		return "", fmt.Errorf("split %s: %w", aws.ToString(s.ShardId), err)
	}
	return "split " + aws.ToString(s.ShardId), waitActive(ctx, kc, stream)
}

// merge merges a random pair of adjacent open shards.
func merge(ctx context.Context, kc *kinesis.Client, stream string, rng *rand.Rand) (string, error) {
	open, err := openShards(ctx, kc, stream)
	if err != nil {
		return "", err
	}
	var pairs [][2]types.Shard
	for i := 0; i+1 < len(open); i++ {
		end := hashKey(open[i].HashKeyRange.EndingHashKey)
		if new(big.Int).Add(end, big.NewInt(1)).Cmp(hashKey(open[i+1].HashKeyRange.StartingHashKey)) == 0 {
			pairs = append(pairs, [2]types.Shard{open[i], open[i+1]})
		}
	}
	if len(pairs) == 0 {
		return "", errors.New("no adjacent open shards to merge")
	}
	p := pairs[rng.IntN(len(pairs))]
	_, err = kc.MergeShards(ctx, &kinesis.MergeShardsInput{
		StreamName: aws.String(stream), ShardToMerge: p[0].ShardId, AdjacentShardToMerge: p[1].ShardId,
	})
	if err != nil {
		return "", fmt.Errorf("merge %s+%s: %w", aws.ToString(p[0].ShardId), aws.ToString(p[1].ShardId), err)
	}
	return "merge " + aws.ToString(p[0].ShardId) + "+" + aws.ToString(p[1].ShardId), waitActive(ctx, kc, stream)
}

func waitActive(ctx context.Context, kc *kinesis.Client, stream string) error {
	err := quiesce.Poll(ctx, 2*time.Minute, 200*time.Millisecond, func() (bool, error) {
		out, err := kc.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(stream)})
		return err == nil && out.StreamDescriptionSummary.StreamStatus == types.StreamStatusActive, nil
	})
	if err != nil {
		return fmt.Errorf("stream %s not ACTIVE: %w", stream, err)
	}
	return nil
}
