package checkpoint_test

import (
	"context"
	"errors"
	"testing"
	"time"

	chk "github.com/vmware/vmware-go-kcl-v2/clientlibrary/checkpoint"

	"github.com/shardline/shardline/checkpoint"
)

func TestLeaseIsExclusiveAndCheckpointsOnlyMoveForward(t *testing.T) {
	_, clk, newCP := newTable(t)
	a, b := newCP("worker-a"), newCP("worker-b")
	sa, sb := shard("shard-0"), shard("shard-0")

	if err := a.GetLease(sa, "worker-a"); err != nil {
		t.Fatalf("a takes free lease: %v", err)
	}
	if !a.Owns("shard-0") {
		t.Fatal("a does not own the lease it took")
	}
	err := b.GetLease(sb, "worker-b")
	if !errors.As(err, &chk.ErrLeaseNotAcquired{}) {
		t.Fatalf("b took a live lease held by a: err = %v", err)
	}
	if err := checkpointAt(t, a, sa, "100"); err != nil {
		t.Fatalf("owner checkpoint: %v", err)
	}
	if err := checkpointAt(t, a, sa, "99"); !errors.Is(err, checkpoint.ErrLeaseLost) {
		t.Fatalf("backwards checkpoint accepted: err = %v", err)
	}
	if got := stored(t, a, "shard-0").Checkpoint; got != "100" {
		t.Fatalf("checkpoint = %q, want 100", got)
	}

	// a stalls past its lease; b takes over.
	clk.Advance(11 * time.Second)
	if a.Owns("shard-0") {
		t.Fatal("a still reports owning an expired lease")
	}
	if err := b.FetchCheckpoint(sb); err != nil {
		t.Fatal(err)
	}
	if err := b.GetLease(sb, "worker-b"); err != nil {
		t.Fatalf("b takes expired lease: %v", err)
	}
	// The zombie a wakes up: its checkpoint and renewal must both fail.
	if err := checkpointAt(t, a, shard("shard-0"), "500"); !errors.Is(err, checkpoint.ErrLeaseLost) {
		t.Fatalf("zombie checkpoint accepted: err = %v", err)
	}
	sa.SetLeaseOwner("worker-a")
	if err := a.GetLease(sa, "worker-a"); err == nil {
		t.Fatal("zombie renewed a lease now held by b")
	}
	// Releasing as a must not touch b's lease.
	if err := a.RemoveLeaseOwner("shard-0"); err != nil {
		t.Fatal(err)
	}
	got := stored(t, b, "shard-0")
	if got.Owner != "worker-b" || got.Checkpoint != "100" {
		t.Fatalf("after zombie: owner %q checkpoint %q, want worker-b 100", got.Owner, got.Checkpoint)
	}
	if got.Counter != 2 {
		t.Fatalf("lease counter = %d, want 2 (a took, b took)", got.Counter)
	}
}

func TestShardEndIsFinal(t *testing.T) {
	_, _, newCP := newTable(t)
	a := newCP("worker-a")
	s := shard("shard-1")
	mustTake(t, a, s, "worker-a")
	if err := checkpointAt(t, a, s, "12345678901234567890123456789012345678901234567890123456"); err != nil {
		t.Fatal(err)
	}
	if err := checkpointAt(t, a, s, chk.ShardEnd); err != nil {
		t.Fatalf("SHARD_END: %v", err)
	}
	if err := checkpointAt(t, a, s, "99999999999999999999999999999999999999999999999999999999"); !errors.Is(err, checkpoint.ErrLeaseLost) {
		t.Fatalf("checkpoint after SHARD_END accepted: %v", err)
	}
	fresh := shard("shard-1")
	if err := a.FetchCheckpoint(fresh); err != nil || fresh.GetCheckpoint() != chk.ShardEnd {
		t.Fatalf("fetched %q, %v; want SHARD_END", fresh.GetCheckpoint(), err)
	}
}

func TestRevokeFailsNextRenewal(t *testing.T) {
	_, _, newCP := newTable(t)
	a := newCP("worker-a")
	s := shard("shard-2")
	mustTake(t, a, s, "worker-a")
	a.Revoke("shard-2")
	if a.Owns("shard-2") {
		t.Fatal("Owns after Revoke")
	}
	if err := a.GetLease(s, "worker-a"); !errors.Is(err, checkpoint.ErrLeaseLost) {
		t.Fatalf("renewal after Revoke: err = %v, want lease lost", err)
	}
	// Once released, the shard can be taken again (by anyone, including a).
	if err := a.RemoveLeaseOwner("shard-2"); err != nil {
		t.Fatal(err)
	}
	s.SetLeaseOwner("")
	if err := a.GetLease(s, "worker-a"); err != nil {
		t.Fatalf("retake after release: %v", err)
	}
}

func TestClaimHandsLeaseToClaimer(t *testing.T) {
	_, _, newCP := newTable(t)
	a, b, c := newCP("worker-a"), newCP("worker-b"), newCP("worker-c")
	sa := shard("shard-3")
	mustTake(t, a, sa, "worker-a")
	sb := shard("shard-3")
	if err := b.FetchCheckpoint(sb); err != nil && !errors.Is(err, chk.ErrSequenceIDNotFound) {
		t.Fatal(err)
	}
	if err := b.ClaimShard(sb, "worker-b"); err != nil {
		t.Fatalf("claim: %v", err)
	}
	if err := a.GetLease(sa, "worker-a"); err == nil {
		t.Fatal("owner renewed a claimed lease")
	}
	if err := a.RemoveLeaseOwner("shard-3"); err != nil {
		t.Fatal(err)
	}
	if err := c.GetLease(shard("shard-3"), "worker-c"); err == nil {
		t.Fatal("a third worker took a lease claimed by b")
	}
	if err := b.GetLease(shard("shard-3"), "worker-b"); err != nil {
		t.Fatalf("claimer could not take the released lease: %v", err)
	}
	if got := stored(t, b, "shard-3"); got.Owner != "worker-b" || got.ClaimRequest != "" {
		t.Fatalf("after steal: owner %q claim %q", got.Owner, got.ClaimRequest)
	}
}

// TestRewindIsConditionalAndFencesTheOwner: Rewind, the operator's checkpoint write, moves a
// checkpoint back only while the row is as seen (never forwards), and the owner it displaces fails
// its next renewal instead of checkpointing over the rewind.
func TestRewindIsConditionalAndFencesTheOwner(t *testing.T) {
	_, _, newCP := newTable(t)
	a := newCP("worker-a")
	ops := newCP("ops")
	ctx := context.Background()
	s := shard("shard-r")
	mustTake(t, a, s, "worker-a")
	if err := checkpointAt(t, a, s, "500"); err != nil {
		t.Fatal(err)
	}
	seen := stored(t, ops, "shard-r")

	if err := ops.Rewind(ctx, seen, "600"); err == nil {
		t.Fatal("Rewind moved a checkpoint forwards")
	}
	if err := a.GetLease(s, "worker-a"); err != nil { // a renewal raises the lease counter
		t.Fatal(err)
	}
	if err := ops.Rewind(ctx, seen, "100"); !errors.Is(err, checkpoint.ErrLeaseChanged) {
		t.Fatalf("rewind of a row renewed since it was read: %v, want ErrLeaseChanged", err)
	}
	seen = stored(t, ops, "shard-r")
	if err := ops.Rewind(ctx, seen, "100"); err != nil {
		t.Fatal(err)
	}
	got := stored(t, ops, "shard-r")
	if got.Checkpoint != "100" || got.Owner != "" {
		t.Fatalf("after rewind: checkpoint %q owner %q, want 100 and no owner", got.Checkpoint, got.Owner)
	}
	// The owner that was fenced out can neither checkpoint over the rewind nor renew.
	if err := checkpointAt(t, a, s, "700"); !errors.Is(err, checkpoint.ErrLeaseLost) {
		t.Fatalf("checkpoint after the rewind: %v, want lease lost", err)
	}
	if err := a.GetLease(s, "worker-a"); err == nil {
		t.Fatal("the fenced owner renewed its lease")
	}
	// A new owner resumes from the rewound checkpoint and moves it forwards from there.
	b := newCP("worker-b")
	sb := shard("shard-r")
	if err := b.FetchCheckpoint(sb); err != nil || sb.GetCheckpoint() != "100" {
		t.Fatalf("fetched %q, %v", sb.GetCheckpoint(), err)
	}
	if err := b.GetLease(sb, "worker-b"); err != nil {
		t.Fatal(err)
	}
	if err := checkpointAt(t, b, sb, "150"); err != nil {
		t.Fatal(err)
	}
	if err := checkpointAt(t, b, sb, chk.ShardEnd); err != nil {
		t.Fatal(err)
	}
	if err := b.RemoveLeaseOwner("shard-r"); err != nil {
		t.Fatal(err)
	}

	// SHARD_END can be rewound too, and to TRIM_HORIZON (no checkpoint).
	seen = stored(t, ops, "shard-r")
	if err := ops.Rewind(ctx, seen, ""); err != nil {
		t.Fatal(err)
	}
	fresh := shard("shard-r")
	if err := ops.FetchCheckpoint(fresh); !errors.Is(err, chk.ErrSequenceIDNotFound) {
		t.Fatalf("after a rewind to TRIM_HORIZON: checkpoint %q, err %v", fresh.GetCheckpoint(), err)
	}
	// A checkpoint written after that is accepted (no stale order is left behind).
	sb.SetLeaseOwner("") // as the KCL does when it releases a lease
	if err := b.GetLease(sb, "worker-b"); err != nil {
		t.Fatal(err)
	}
	if err := checkpointAt(t, b, sb, "5"); err != nil {
		t.Fatalf("first checkpoint after the rewind: %v", err)
	}
}
