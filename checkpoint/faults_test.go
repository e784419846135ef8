package checkpoint_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	chk "github.com/vmware/vmware-go-kcl-v2/clientlibrary/checkpoint"
	par "github.com/vmware/vmware-go-kcl-v2/clientlibrary/partition"

	"github.com/shardline/shardline/checkpoint"
)

// fault is what faultyDynamoDB does to a call a rule picks.
type fault int

const (
	failCall     fault = iota + 1 // the request never reaches the server; the caller gets an error
	loseResponse                  // the server carries the request out; the caller gets an error
)

// errInjected is the error a faulty call returns, like a connection reset would.
var errInjected = errors.New("injected fault: connection reset by peer")

// faultRule picks calls: the first skip calls that match pass, the next times calls get fault.
type faultRule struct {
	op    string // "GetItem", "UpdateItem"
	match func(in any) bool
	fault fault
	skip  int
	times int
	hits  int // calls matched so far
}

// faultyDynamoDB passes every call to a real DynamoDB and injects the faults its rules pick.
type faultyDynamoDB struct {
	checkpoint.DynamoDB
	mu    sync.Mutex
	rules []*faultRule
}

func (f *faultyDynamoDB) add(r *faultRule) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.times == 0 {
		r.times = 1
	}
	f.rules = append(f.rules, r)
}

// pick returns the fault to inject into a call (0: none).
func (f *faultyDynamoDB) pick(op string, in any) fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.rules {
		if r.op != op || (r.match != nil && !r.match(in)) {
			continue
		}
		r.hits++
		if r.hits > r.skip && r.hits <= r.skip+r.times {
			return r.fault
		}
	}
	return 0
}

func (f *faultyDynamoDB) GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	switch f.pick("GetItem", in) {
	case failCall:
		return nil, errInjected
	case loseResponse:
		_, _ = f.DynamoDB.GetItem(ctx, in, optFns...)
		return nil, errInjected
	}
	return f.DynamoDB.GetItem(ctx, in, optFns...)
}

func (f *faultyDynamoDB) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	switch f.pick("UpdateItem", in) {
	case failCall:
		return nil, errInjected
	case loseResponse:
		if _, err := f.DynamoDB.UpdateItem(ctx, in, optFns...); err != nil {
			return nil, err // the write did not happen: nothing to lose
		}
		return nil, errInjected
	}
	return f.DynamoDB.UpdateItem(ctx, in, optFns...)
}

// Predicates on the checkpointer's writes, by what they write rather than how they spell it.

// writesShardEnd: a checkpoint write of SHARD_END.
func writesShardEnd(in any) bool {
	u, ok := in.(*dynamodb.UpdateItemInput)
	if !ok {
		return false
	}
	for _, v := range u.ExpressionAttributeValues {
		if s, ok := v.(*types.AttributeValueMemberS); ok && s.Value == chk.ShardEnd {
			return true
		}
	}
	return false
}

// writesLease: a take or renewal (the only writes that set LeaseTimeout).
func writesLease(in any) bool {
	u, ok := in.(*dynamodb.UpdateItemInput)
	return ok && namesAttr(u.ExpressionAttributeNames, checkpoint.AttrLeaseTimeout)
}

// releasesLease: a write that only removes the owner (RemoveLeaseOwner).
func releasesLease(in any) bool {
	u, ok := in.(*dynamodb.UpdateItemInput)
	return ok && u.UpdateExpression != nil && strings.HasPrefix(strings.TrimSpace(*u.UpdateExpression), "REMOVE") &&
		namesAttr(u.ExpressionAttributeNames, checkpoint.AttrOwner) && !namesAttr(u.ExpressionAttributeNames, checkpoint.AttrCheckpoint)
}

func namesAttr(names map[string]string, attr string) bool {
	for _, n := range names {
		if n == attr {
			return true
		}
	}
	return false
}

// The KCL's side of the calls, transcribed from vmware-go-kcl-v2 v1.0.0 so that the tests drive
// the checkpointer exactly as the library does, one step at a time.

// kclTake is one pass of the worker's event loop over one shard (worker.go, eventLoop): skip the
// shard if the in-memory status names this worker; fetch its checkpoint; skip it at SHARD_END;
// try to take the lease. It returns nil if the KCL would now start a shard consumer, otherwise
// why not.
func kclTake(cp *checkpoint.Checkpointer, s *par.ShardStatus, worker string) error {
	if s.GetLeaseOwner() == worker {
		return errors.New("skipped: the in-memory status names this worker")
	}
	if err := cp.FetchCheckpoint(s); err != nil && err != chk.ErrSequenceIDNotFound {
		return fmt.Errorf("skipped: FetchCheckpoint: %w", err)
	}
	if s.GetCheckpoint() == chk.ShardEnd {
		return errors.New("skipped: the in-memory checkpoint is SHARD_END")
	}
	if err := cp.GetLease(s, worker); err != nil {
		return fmt.Errorf("GetLease: %w", err)
	}
	return nil
}

// kclRebalance is the lease-stealing step at the end of each event loop pass (worker.go,
// rebalance), which first lists the active workers; shardline enables lease stealing.
func kclRebalance(cp *checkpoint.Checkpointer, shards ...*par.ShardStatus) {
	m := map[string]*par.ShardStatus{}
	for _, s := range shards {
		m[s.ID] = s
	}
	_, _ = cp.ListActiveWorkers(m)
}

// kclConsumerEnds is what a shard consumer does when it returns, for whatever reason
// (common-shard-consumer.go, releaseLease): clear the in-memory owner, then release the lease;
// the library ignores the error.
func kclConsumerEnds(cp *checkpoint.Checkpointer, s *par.ShardStatus) error {
	s.SetLeaseOwner("")
	return cp.RemoveLeaseOwner(s.ID)
}
