package processor

import (
	"context"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	kintypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	chk "github.com/vmware/vmware-go-kcl-v2/clientlibrary/checkpoint"

	"github.com/shardline/shardline/checkpoint"
	"github.com/shardline/shardline/internal/shardmap"
)

// topology implements Topology from ListShards (parents) and the lease table
// (SHARD_END checkpoints), and checkpoint.Topology (the shard list for planned lease taking).
// It keeps the last ListShards answer: its own, or the KCL's (see cachedShardList).
type topology struct {
	kc     *kinesis.Client
	stream string
	leases *checkpoint.Checkpointer
	// maxAge is how old a listing Shards may answer from; zero: any.
	maxAge time.Duration

	mu     sync.Mutex
	shards map[string]kintypes.Shard // last ListShards answer
	at     time.Time                 // when it was received
}

var (
	_ shardTopology       = (*topology)(nil)
	_ checkpoint.Topology = (*topology)(nil)
)

// store keeps a complete listing of the stream's shards.
func (t *topology) store(list []kintypes.Shard) {
	shards := make(map[string]kintypes.Shard, len(list))
	for _, s := range list {
		shards[aws.ToString(s.ShardId)] = s
	}
	t.mu.Lock()
	t.shards, t.at = shards, time.Now()
	t.mu.Unlock()
}

// fresh returns the last listing if it is younger than maxAge.
func (t *topology) fresh() ([]kintypes.Shard, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.shards == nil || (t.maxAge > 0 && time.Since(t.at) >= t.maxAge) {
		return nil, false
	}
	list := make([]kintypes.Shard, 0, len(t.shards))
	for _, s := range t.shards {
		list = append(list, s)
	}
	return list, true
}

// Shards implements checkpoint.Topology from a listing younger than maxAge (listing again if
// there is none).
func (t *topology) Shards(ctx context.Context) ([]checkpoint.Shard, error) {
	list, ok := t.fresh()
	if !ok {
		if err := t.refresh(ctx); err != nil {
			return nil, err
		}
		list, _ = t.fresh()
	}
	shards := make([]checkpoint.Shard, 0, len(list))
	for _, s := range list {
		shards = append(shards, checkpoint.Shard{ID: aws.ToString(s.ShardId), Parents: parentsOf(s)})
	}
	return shards, nil
}

func parentsOf(s kintypes.Shard) []string {
	var parents []string
	for _, p := range []*string{s.ParentShardId, s.AdjacentParentShardId} {
		if aws.ToString(p) != "" {
			parents = append(parents, aws.ToString(p))
		}
	}
	return parents
}

// refresh reloads the shard list.
func (t *topology) refresh(ctx context.Context) error {
	shards, err := shardmap.List(ctx, t.kc, t.stream)
	if err != nil {
		return err
	}
	t.store(shards)
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

// Parents implements Topology.
func (t *topology) Parents(ctx context.Context, shardID string) ([]string, error) {
	s, ok, err := t.shard(ctx, shardID)
	if err != nil || !ok {
		return nil, err
	}
	return parentsOf(s), nil
}

// Finished implements Topology: the shard's checkpoint is SHARD_END, or the shard has
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
