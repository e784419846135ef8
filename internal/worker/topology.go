package worker

import (
	"context"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	kintypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	chk "github.com/vmware/vmware-go-kcl-v2/clientlibrary/checkpoint"

	"github.com/shardline/shardline/checkpoint"
	"github.com/shardline/shardline/processor"
)

// topology implements processor.Topology from ListShards (parents) and the lease table
// (SHARD_END checkpoints).
type topology struct {
	kc     *kinesis.Client
	stream string
	leases *checkpoint.Checkpointer

	mu     sync.Mutex
	shards map[string]kintypes.Shard // last ListShards answer
}

var _ processor.Topology = (*topology)(nil)

// refresh reloads the shard list.
func (t *topology) refresh(ctx context.Context) error {
	shards := map[string]kintypes.Shard{}
	in := &kinesis.ListShardsInput{StreamName: aws.String(t.stream)}
	for {
		out, err := t.kc.ListShards(ctx, in)
		if err != nil {
			return fmt.Errorf("list shards of %s: %w", t.stream, err)
		}
		for _, s := range out.Shards {
			shards[aws.ToString(s.ShardId)] = s
		}
		if out.NextToken == nil {
			break
		}
		in = &kinesis.ListShardsInput{NextToken: out.NextToken}
	}
	t.mu.Lock()
	t.shards = shards
	t.mu.Unlock()
	return nil
}

// shard returns a shard's description, refreshing the list once if it is not known yet.
func (t *topology) shard(ctx context.Context, id string) (kintypes.Shard, bool, error) {
	t.mu.Lock()
	s, ok := t.shards[id]
	t.mu.Unlock()
	if ok {
		return s, true, nil
	}
	if err := t.refresh(ctx); err != nil {
		return kintypes.Shard{}, false, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok = t.shards[id]
	return s, ok, nil
}

// Parents implements processor.Topology.
func (t *topology) Parents(ctx context.Context, shardID string) ([]string, error) {
	s, ok, err := t.shard(ctx, shardID)
	if err != nil || !ok {
		return nil, err
	}
	var parents []string
	for _, p := range []*string{s.ParentShardId, s.AdjacentParentShardId} {
		if aws.ToString(p) != "" {
			parents = append(parents, aws.ToString(p))
		}
	}
	return parents, nil
}

// Finished implements processor.Topology: the shard's checkpoint is SHARD_END, or the shard has
// left the stream (past retention), so nothing of it can still be processed.
func (t *topology) Finished(ctx context.Context, shardID string) (bool, error) {
	lease, found, err := t.leases.Get(ctx, shardID)
	if err != nil {
		return false, err
	}
	if found && lease.Checkpoint == chk.ShardEnd {
		return true, nil
	}
	_, exists, err := t.shard(ctx, shardID)
	if err != nil {
		return false, err
	}
	return !exists, nil
}
