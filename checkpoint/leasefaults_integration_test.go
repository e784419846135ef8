package checkpoint_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	chk "github.com/vmware/vmware-go-kcl-v2/clientlibrary/checkpoint"
	par "github.com/vmware/vmware-go-kcl-v2/clientlibrary/partition"
	kclworker "github.com/vmware/vmware-go-kcl-v2/clientlibrary/worker"

	"github.com/shardline/shardline/checkpoint"
	"github.com/shardline/shardline/internal/lab/emulators"
)

// Issue 11, scenarios 6 and 7: what the KCL does with the checkpointer's answers when a lease or
// checkpoint write fails, or succeeds with its response lost. Each test replays the library's
// calls (faults_test.go) against the local stack's DynamoDB behind a fault injector.

func newFaultyTable(t *testing.T) (*faultyDynamoDB, *clock, newCheckpointer) {
	t.Helper()
	f := &faultyDynamoDB{}
	_, clk, newCP := newTableVia(t, func(c checkpoint.DynamoDB) checkpoint.DynamoDB {
		f.DynamoDB = c
		return f
	})
	return f, clk, newCP
}

// takenByWorkerA makes a faulty lease table (no faults yet) where worker-a took shard id as the
// KCL does.
func takenByWorkerA(t *testing.T, id string) (*faultyDynamoDB, *checkpoint.Checkpointer, *par.ShardStatus) {
	t.Helper()
	faults, _, newCP := newFaultyTable(t)
	a := newCP("worker-a")
	s := shard(id)
	if err := kclTake(a, s, "worker-a"); err != nil {
		t.Fatalf("worker could not take a free shard: %v", err)
	}
	return faults, a, s
}

// TestShardEndWriteFails_ShardIsNotStalled: the KCL's RecordProcessorCheckpointer sets SHARD_END
// in the in-memory shard status before the write; when the write fails, the event loop skipped
// the shard for good (it never takes a shard whose status says SHARD_END, and FetchCheckpoint
// kept the in-memory value when the row had no checkpoint), so a lone worker never finished it
// and its children waited forever. The row is the truth: after the failure the shard is taken
// again and SHARD_END is written by the next consumer.
func TestShardEndWriteFails_ShardIsNotStalled(t *testing.T) {
	tests := []struct {
		name       string
		checkpoint string // the shard's checkpoint before its end ("" = none: it had no records)
	}{
		{"shard without a checkpoint", ""},
		{"shard with a checkpoint", "49590000000000000000000000000000000000000000000000000042"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			faults, a, s := takenByWorkerA(t, "shardId-000000000001")
			if tc.checkpoint != "" {
				if err := kclworker.NewRecordProcessorCheckpoint(s, a).Checkpoint(aws.String(tc.checkpoint)); err != nil {
					t.Fatal(err)
				}
			}
			faults.add(&faultRule{op: "UpdateItem", match: writesShardEnd, fault: failCall})
			if err := kclworker.NewRecordProcessorCheckpoint(s, a).Checkpoint(nil); err == nil {
				t.Fatal("SHARD_END write reported success although it failed")
			}
			if got := s.GetCheckpoint(); got != tc.checkpoint {
				t.Errorf("in-memory checkpoint after the failed SHARD_END = %q, want the row's %q", got, tc.checkpoint)
			}
			if err := kclConsumerEnds(a, s); err != nil {
				t.Fatal(err)
			}
			kclRebalance(a, s)
			if err := kclTake(a, s, "worker-a"); err != nil {
				t.Fatalf("shard stalled: the worker does not take it again: %v", err)
			}
			// The next consumer reads the shard's end again and records SHARD_END.
			if err := kclworker.NewRecordProcessorCheckpoint(s, a).Checkpoint(nil); err != nil {
				t.Fatalf("SHARD_END by the next consumer: %v", err)
			}
			if got := stored(t, a, s.ID).Checkpoint; got != chk.ShardEnd {
				t.Fatalf("stored checkpoint %q, want SHARD_END", got)
			}
			if err := kclConsumerEnds(a, s); err != nil {
				t.Fatal(err)
			}
			kclRebalance(a, s)
			if kclTake(a, s, "worker-a") == nil {
				t.Fatal("a finished shard was taken again")
			}
		})
	}
}

// TestLeaseLimbo_RemoveLeaseOwnerFails: when a consumer ends and the release of its lease
// fails, the row still names this worker. The KCL's rebalance step copied that owner into the
// in-memory status, and the event loop never takes a shard it believes it owns: no consumer ran
// for it, ever, on a lone worker. A row that names this worker without a consumer of this worker
// behind it now reads as unowned to the KCL, so the worker takes the shard again.
func TestLeaseLimbo_RemoveLeaseOwnerFails(t *testing.T) {
	faults, a, s := takenByWorkerA(t, "shardId-000000000002")
	faults.add(&faultRule{op: "UpdateItem", match: releasesLease, fault: failCall})
	a.Revoke(s.ID) // the processor gave the shard up: the next renewal fails and the consumer ends
	if err := a.GetLease(s, "worker-a"); !errors.Is(err, checkpoint.ErrLeaseLost) {
		t.Fatalf("renewal after Revoke: %v, want lease lost", err)
	}
	if err := kclConsumerEnds(a, s); err == nil {
		t.Fatal("the release reported success although it failed")
	}
	if got := stored(t, a, s.ID).Owner; got != "worker-a" {
		t.Fatalf("row owner %q, want worker-a (the release failed)", got)
	}
	kclRebalance(a, s)
	if err := kclTake(a, s, "worker-a"); err != nil {
		t.Fatalf("lease limbo: the worker does not take the shard again: %v", err)
	}
	if !a.Owns(s.ID) {
		t.Fatal("the worker took the shard but does not own it")
	}
	if err := a.GetLease(s, "worker-a"); err != nil {
		t.Fatalf("the new consumer's renewal: %v", err)
	}
}

// TestLeaseLimbo_NoSecondConsumerWhileOneRuns: the other side of the same rule. While a consumer
// of this worker holds the shard (from its take until its release), the event loop must not start
// a second one, even when the in-memory owner was cleared (the consumer is ending) and the row
// still names this worker.
func TestLeaseLimbo_NoSecondConsumerWhileOneRuns(t *testing.T) {
	_, a, s := takenByWorkerA(t, "shardId-000000000003")
	s.SetLeaseOwner("") // releaseLease has begun; RemoveLeaseOwner not yet called
	kclRebalance(a, s)
	if kclTake(a, s, "worker-a") == nil {
		t.Fatal("a second consumer was started while the first still holds the shard")
	}
	if err := a.RemoveLeaseOwner(s.ID); err != nil {
		t.Fatal(err)
	}
	kclRebalance(a, s)
	if err := kclTake(a, s, "worker-a"); err != nil {
		t.Fatalf("the shard was not taken again after its consumer ended: %v", err)
	}
}

// TestLeaseWriteLostResponse_OutcomeIsReadBack: a lease or checkpoint write that committed but
// whose response was lost is resolved by reading the row back, not assumed to have failed.
// Before, a take that had committed returned an error: the KCL started no consumer, the next
// rebalance copied this worker's name from the row into memory, and the shard sat in limbo.
func TestLeaseWriteLostResponse_OutcomeIsReadBack(t *testing.T) {
	tests := []struct {
		name  string
		rule  *faultRule
		setup func(t *testing.T, a *checkpoint.Checkpointer, s *par.ShardStatus)
		do    func(a *checkpoint.Checkpointer, s *par.ShardStatus) error
		check func(t *testing.T, a *checkpoint.Checkpointer, s *par.ShardStatus)
	}{
		{
			name: "take",
			rule: &faultRule{op: "UpdateItem", match: writesLease, fault: loseResponse},
			do:   func(a *checkpoint.Checkpointer, s *par.ShardStatus) error { return a.GetLease(s, "worker-a") },
			check: func(t *testing.T, a *checkpoint.Checkpointer, s *par.ShardStatus) {
				if !a.Owns(s.ID) || s.GetLeaseOwner() != "worker-a" {
					t.Errorf("after the take: Owns %v, in-memory owner %q", a.Owns(s.ID), s.GetLeaseOwner())
				}
			},
		},
		{
			name:  "renewal",
			rule:  &faultRule{op: "UpdateItem", match: writesLease, fault: loseResponse},
			setup: func(t *testing.T, a *checkpoint.Checkpointer, s *par.ShardStatus) { mustTake(t, a, s, "worker-a") },
			do:    func(a *checkpoint.Checkpointer, s *par.ShardStatus) error { return a.GetLease(s, "worker-a") },
			check: func(t *testing.T, a *checkpoint.Checkpointer, s *par.ShardStatus) {
				if !a.Owns(s.ID) {
					t.Error("lost the lease after a renewal that committed")
				}
			},
		},
		{
			name:  "SHARD_END",
			rule:  &faultRule{op: "UpdateItem", match: writesShardEnd, fault: loseResponse},
			setup: func(t *testing.T, a *checkpoint.Checkpointer, s *par.ShardStatus) { mustTake(t, a, s, "worker-a") },
			do: func(a *checkpoint.Checkpointer, s *par.ShardStatus) error {
				return kclworker.NewRecordProcessorCheckpoint(s, a).Checkpoint(nil)
			},
			check: func(t *testing.T, a *checkpoint.Checkpointer, s *par.ShardStatus) {
				if got := stored(t, a, s.ID).Checkpoint; got != chk.ShardEnd {
					t.Errorf("stored checkpoint %q, want SHARD_END", got)
				}
			},
		},
		{
			name:  "release",
			rule:  &faultRule{op: "UpdateItem", match: releasesLease, fault: loseResponse},
			setup: func(t *testing.T, a *checkpoint.Checkpointer, s *par.ShardStatus) { mustTake(t, a, s, "worker-a") },
			do:    func(a *checkpoint.Checkpointer, s *par.ShardStatus) error { return kclConsumerEnds(a, s) },
			check: func(t *testing.T, a *checkpoint.Checkpointer, s *par.ShardStatus) {
				if got := stored(t, a, s.ID).Owner; got != "" {
					t.Errorf("row owner %q after the release, want none", got)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			faults, _, newCP := newFaultyTable(t)
			a := newCP("worker-a")
			s := shard("shardId-000000000004")
			if tc.setup != nil {
				tc.setup(t, a, s)
			}
			faults.add(tc.rule)
			if err := tc.do(a, s); err != nil {
				t.Fatalf("%s whose response was lost: %v, want success (the write committed)", tc.name, err)
			}
			tc.check(t, a, s)
		})
	}
}

// TestLeaseWriteLostResponse_UnresolvedTakeIsNotLimbo: when the read-back fails too (two faults),
// the take reports an error, and the row names this worker with no consumer behind it. The next
// pass of the event loop takes the shard again instead of believing it owns it.
func TestLeaseWriteLostResponse_UnresolvedTakeIsNotLimbo(t *testing.T) {
	faults, _, newCP := newFaultyTable(t)
	a := newCP("worker-a")
	s := shard("shardId-000000000005")
	faults.add(&faultRule{op: "UpdateItem", match: writesLease, fault: loseResponse})
	// Every read after FetchCheckpoint's and the one before the write: the read-back, and the
	// next two passes' FetchCheckpoint.
	faults.add(&faultRule{op: "GetItem", fault: failCall, skip: 2, times: 3})
	if kclTake(a, s, "worker-a") == nil {
		t.Fatal("the take reported success though its outcome could not be known")
	}
	if got := stored(t, a, s.ID).Owner; got != "worker-a" {
		t.Fatalf("row owner %q, want worker-a (the take committed)", got)
	}
	if a.Owns(s.ID) {
		t.Fatal("Owns a shard without a consumer")
	}
	// The next two passes cannot read the row (FetchCheckpoint fails: the KCL skips the shard);
	// the third can.
	var err error
	for pass := 1; pass <= 3; pass++ {
		kclRebalance(a, s)
		if err = kclTake(a, s, "worker-a"); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("lease limbo: the worker does not take the shard: %v", err)
	}
	if !a.Owns(s.ID) {
		t.Fatal("the worker took the shard but does not own it")
	}
}

// TestClaimShard_SubSecondOrder (issue 11, scenario 8): ClaimShard decides in DynamoDB whether an
// earlier claim has expired by comparing the stored claim time with a string. RFC 3339 with
// trailing zeros dropped does not sort like time below one second ("12:00:00.5Z" < "12:00:00Z"),
// so a live claim could be overwritten, and an expired one kept, by up to a second.
func TestClaimShard_SubSecondOrder(t *testing.T) {
	const claimTimeout = 30 * time.Second // 3 × the tests' 10s lease
	tests := []struct {
		name      string
		first     time.Duration // first claim, after a whole second
		second    time.Duration // second claim, after the same whole second
		wantTaken bool
	}{
		{"a claim half a second into a second is live exactly ClaimTimeout after the whole second", 500 * time.Millisecond, claimTimeout, false},
		{"a claim on a whole second is stale half a second after ClaimTimeout", 0, claimTimeout + 500*time.Millisecond, true},
		{"a claim 0.1s into a second is live 0.05s before it expires", 100 * time.Millisecond, claimTimeout + 50*time.Millisecond, false},
		{"a claim 0.1s into a second is stale 0.15s after it expires", 100 * time.Millisecond, claimTimeout + 250*time.Millisecond, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, clk, newCP := newTable(t)
			a, b, c := newCP("worker-a"), newCP("worker-b"), newCP("worker-c")
			mustTake(t, a, shard("shardId-000000000006"), "worker-a")
			base := time.Now().Truncate(time.Second)
			claim := func(cp *checkpoint.Checkpointer, worker string, at time.Duration) error {
				clk.now.Store(base.Add(at).UnixNano())
				s := shard("shardId-000000000006")
				s.SetLeaseOwner("worker-a")
				return cp.ClaimShard(s, worker)
			}
			if err := claim(b, "worker-b", tc.first); err != nil {
				t.Fatalf("first claim: %v", err)
			}
			err := claim(c, "worker-c", tc.second)
			if taken := err == nil; taken != tc.wantTaken {
				t.Fatalf("second claim succeeded = %v (err %v), want %v", taken, err, tc.wantTaken)
			}
		})
	}
}

// TestLeaseRowsOfThePreviousFormatStayReadable: rows written by the previous version (RFC 3339
// with trailing zeros dropped) are read, renewed and claimed as before.
func TestLeaseRowsOfThePreviousFormatStayReadable(t *testing.T) {
	table, clk, newCP := newTable(t)
	a, b := newCP("worker-a"), newCP("worker-b")
	now := time.Unix(0, clk.now.Load()).UTC().Truncate(time.Second)
	clk.now.Store(now.UnixNano())
	old := func(t time.Time) types.AttributeValue {
		return &types.AttributeValueMemberS{Value: t.UTC().Format(time.RFC3339Nano)}
	}
	clients := emulators.Require(t)
	_, err := clients.DynamoDB.PutItem(context.Background(), &dynamodb.PutItemInput{
		TableName: aws.String(table),
		Item: map[string]types.AttributeValue{
			checkpoint.AttrShardID:      &types.AttributeValueMemberS{Value: "shardId-000000000007"},
			checkpoint.AttrOwner:        &types.AttributeValueMemberS{Value: "worker-a"},
			checkpoint.AttrLeaseTimeout: old(now.Add(5 * time.Second)),
			checkpoint.AttrClaimRequest: &types.AttributeValueMemberS{Value: "worker-b"},
			checkpoint.AttrClaimTime:    old(now.Add(-40 * time.Second)),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	l := stored(t, a, "shardId-000000000007")
	if !l.LeaseTimeout.Equal(now.Add(5 * time.Second)) {
		t.Fatalf("lease timeout %v, want %v", l.LeaseTimeout, now.Add(5*time.Second))
	}
	if err := b.GetLease(shard("shardId-000000000007"), "worker-b"); !errors.Is(err, checkpoint.ErrLeaseLost) {
		t.Fatalf("b took a live lease of the old format: %v", err)
	}
	s := shard("shardId-000000000007")
	s.SetLeaseOwner("worker-a")
	if err := b.ClaimShard(s, "worker-b"); err != nil {
		t.Fatalf("claim over an expired claim of the old format: %v", err)
	}
	clk.Advance(6 * time.Second)
	if err := a.GetLease(shard("shardId-000000000007"), "worker-a"); err == nil {
		t.Fatal("a took a shard claimed by b")
	}
	if err := b.GetLease(shard("shardId-000000000007"), "worker-b"); err != nil {
		t.Fatalf("claimer could not take the expired lease: %v", err)
	}
}
