package checkpoint_test

import (
	"context"
	"errors"
	"testing"

	chk "github.com/vmware/vmware-go-kcl-v2/clientlibrary/checkpoint"

	"github.com/shardline/shardline/checkpoint"
)

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
