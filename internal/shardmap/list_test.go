package shardmap

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// pagedLister answers ListShards with pages, one shard each, linked by NextToken, and records
// every request.
type pagedLister struct {
	pages int
	fail  error
	got   []*kinesis.ListShardsInput
}

func (l *pagedLister) ListShards(_ context.Context, in *kinesis.ListShardsInput, _ ...func(*kinesis.Options)) (*kinesis.ListShardsOutput, error) {
	l.got = append(l.got, in)
	if l.fail != nil {
		return nil, l.fail
	}
	n := len(l.got) - 1
	out := &kinesis.ListShardsOutput{Shards: []types.Shard{{ShardId: aws.String(fmt.Sprintf("shardId-%012d", n))}}}
	if n+1 < l.pages {
		out.NextToken = aws.String(fmt.Sprint("token-", n+1))
	}
	return out, nil
}

func TestListFollowsNextToken(t *testing.T) {
	l := &pagedLister{pages: 3}
	shards, err := List(t.Context(), l, "s")
	if err != nil {
		t.Fatal(err)
	}
	if len(shards) != 3 || aws.ToString(shards[2].ShardId) != "shardId-000000000002" {
		t.Errorf("shards %v, want the 3 pages' shards in order", shards)
	}
	for i, in := range l.got {
		switch {
		case i == 0 && (aws.ToString(in.StreamName) != "s" || in.NextToken != nil):
			t.Errorf("first request %+v, want StreamName only", in)
		case i > 0 && (in.StreamName != nil || aws.ToString(in.NextToken) != fmt.Sprint("token-", i)):
			t.Errorf("request %d %+v, want NextToken token-%d only (Kinesis refuses both)", i, in, i)
		}
	}
	failing := &pagedLister{fail: &types.ResourceNotFoundException{Message: aws.String("gone")}}
	if _, err := List(t.Context(), failing, "s"); !errors.As(err, new(*types.ResourceNotFoundException)) {
		t.Errorf("err %v does not wrap the SDK's error", err)
	}
}
