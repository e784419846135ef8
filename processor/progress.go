package processor

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/smithy-go/middleware"
	chk "github.com/vmware/vmware-go-kcl-v2/clientlibrary/checkpoint"
	par "github.com/vmware/vmware-go-kcl-v2/clientlibrary/partition"

	"github.com/shardline/shardline/checkpoint"
)

// progress records what the KCL's event loop and shard consumers achieve, for Health: the last
// successful shard sync and lease-table call, and the leases of the stream as the event loop last
// saw them (to count the free ones). It observes the calls the KCL makes anyway and makes none
// of its own.
type progress struct {
	worker string
	now    func() time.Time
	leases *checkpoint.Checkpointer

	mu         sync.Mutex
	shardSync  time.Time
	leaseTable time.Time
	shards     map[string]shardView
}

// shardView is a shard's lease as the event loop last saw it.
type shardView struct {
	owner    string
	until    time.Time
	finished bool
	parent   string // ParentShardId, if any
}

func newProgress(worker string, leases *checkpoint.Checkpointer, now func() time.Time) *progress {
	return &progress{worker: worker, now: now, leases: leases, shards: map[string]shardView{}}
}

// fill sets the progress fields of s.
func (p *progress) fill(s *signals) {
	held := p.leases.Held()
	p.mu.Lock()
	defer p.mu.Unlock()
	s.ShardSync, s.LeaseTable, s.Held = p.shardSync, p.leaseTable, held
	p.countFree(s)
}

// countFree sets s.Free: the unfinished shards that no live worker holds at s.Now, but for
// children whose parent is known and has not finished (no worker takes those yet, see
// checkpoint.PlanTakes). p.mu is held.
func (p *progress) countFree(s *signals) {
	s.Free = 0
	for _, v := range p.shards {
		if parent, known := p.shards[v.parent]; v.parent != "" && known && !parent.finished {
			continue
		}
		if !v.finished && v.owner != p.worker && (v.owner == "" || !s.Now.Before(v.until)) {
			s.Free++
		}
	}
}

func (p *progress) synced() {
	p.mu.Lock()
	p.shardSync = p.now()
	p.mu.Unlock()
}

// tableCall records a lease-table call that the table answered: err is nil or one of the
// library's "nothing there" answers.
func (p *progress) tableCall(err error) bool {
	if err != nil && !errors.Is(err, chk.ErrSequenceIDNotFound) && !errors.Is(err, chk.ErrShardNotAssigned) && !errors.Is(err, chk.NoLeaseOwnerErr) {
		return false
	}
	p.mu.Lock()
	p.leaseTable = p.now()
	p.mu.Unlock()
	return true
}

func (p *progress) see(shard *par.ShardStatus) {
	v := shardView{owner: shard.GetLeaseOwner(), until: shard.GetLeaseTimeout(), finished: shard.GetCheckpoint() == chk.ShardEnd, parent: shard.ParentShardId}
	p.mu.Lock()
	p.shards[shard.ID] = v
	p.mu.Unlock()
}

func (p *progress) update(shardID string, f func(v *shardView)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if v, ok := p.shards[shardID]; ok {
		f(&v)
		p.shards[shardID] = v
	}
}

func (p *progress) forget(shardID string) {
	p.mu.Lock()
	delete(p.shards, shardID)
	p.mu.Unlock()
}

// observedCheckpointer is the checkpointer the KCL uses, with every answer recorded in progress.
// It changes no behaviour.
type observedCheckpointer struct {
	*checkpoint.Checkpointer
	p *progress
}

var _ chk.Checkpointer = observedCheckpointer{}

func (o observedCheckpointer) GetLease(shard *par.ShardStatus, worker string) error {
	err := o.Checkpointer.GetLease(shard, worker)
	if o.p.tableCall(err) {
		o.p.see(shard)
	}
	return err
}

func (o observedCheckpointer) CheckpointSequence(shard *par.ShardStatus) error {
	err := o.Checkpointer.CheckpointSequence(shard)
	o.p.tableCall(err)
	return err
}

func (o observedCheckpointer) FetchCheckpoint(shard *par.ShardStatus) error {
	err := o.Checkpointer.FetchCheckpoint(shard)
	if o.p.tableCall(err) {
		o.p.see(shard)
	}
	return err
}

func (o observedCheckpointer) RemoveLeaseInfo(shardID string) error {
	err := o.Checkpointer.RemoveLeaseInfo(shardID)
	o.p.tableCall(err)
	o.p.forget(shardID) // the shard left the stream, whatever became of its row
	return err
}

func (o observedCheckpointer) RemoveLeaseOwner(shardID string) error {
	err := o.Checkpointer.RemoveLeaseOwner(shardID)
	if o.p.tableCall(err) {
		o.p.update(shardID, func(v *shardView) { v.owner = "" })
	}
	return err
}

func (o observedCheckpointer) GetLeaseOwner(shardID string) (string, error) {
	owner, err := o.Checkpointer.GetLeaseOwner(shardID)
	o.p.tableCall(err)
	return owner, err
}

func (o observedCheckpointer) ListActiveWorkers(shards map[string]*par.ShardStatus) (map[string][]*par.ShardStatus, error) {
	workers, err := o.Checkpointer.ListActiveWorkers(shards)
	if o.p.tableCall(err) {
		for _, s := range shards {
			o.p.see(s)
		}
	}
	return workers, err
}

func (o observedCheckpointer) ClaimShard(shard *par.ShardStatus, claimer string) error {
	err := o.Checkpointer.ClaimShard(shard, claimer)
	o.p.tableCall(err)
	return err
}

// observedKinesis returns a copy of c that records every successful ListShards in p: only the
// KCL's event loop lists shards with the client it is given.
func observedKinesis(c *kinesis.Client, p *progress) *kinesis.Client {
	observe := middleware.InitializeMiddlewareFunc("shardline.ObserveShardSync",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			out, md, err := next.HandleInitialize(ctx, in)
			if _, ok := out.Result.(*kinesis.ListShardsOutput); ok && err == nil {
				p.synced()
			}
			return out, md, err
		})
	return kinesis.New(c.Options(), func(o *kinesis.Options) {
		o.APIOptions = append(slices.Clip(o.APIOptions), func(s *middleware.Stack) error {
			return s.Initialize.Add(observe, middleware.After)
		})
	})
}
