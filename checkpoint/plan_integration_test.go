package checkpoint_test

import (
	"context"
	"errors"
	"slices"
	"sort"
	"testing"
	"time"

	chk "github.com/vmware/vmware-go-kcl-v2/clientlibrary/checkpoint"
	par "github.com/vmware/vmware-go-kcl-v2/clientlibrary/partition"

	"github.com/shardline/shardline/checkpoint"
)

type fixedTopology []checkpoint.Shard

func (f fixedTopology) Shards(context.Context) ([]checkpoint.Shard, error) { return f, nil }

// TestPlannedTakes_OnePassTakesThePlan: one pass of GetLease over every shard (what the KCL's
// event loop does, but without stopping at the first success) takes exactly the free leases
// the plan allows: up to the fair share, parents before children, nothing held by a live
// worker; and a second worker's pass then takes the rest of its share.
func TestPlannedTakes_OnePassTakesThePlan(t *testing.T) {
	_, _, mk := newTable(t)
	other := mk("other")
	// other holds p0 (a parent whose children c0, c1 must wait) and s0.
	for _, id := range []string{"p0", "s0"} {
		mustTake(t, other, shard(id), "other")
	}
	topo := fixedTopology{
		{ID: "p0"}, {ID: "s0"}, {ID: "s1"}, {ID: "s2"}, {ID: "s3"}, {ID: "s4"}, {ID: "s5"},
		{ID: "c0", Parents: []string{"p0"}}, {ID: "c1", Parents: []string{"p0"}},
	}
	newPlanned := func(worker string) *checkpoint.Checkpointer {
		return mk(worker, func(c *checkpoint.Config) { c.Topology = topo })
	}
	pass := func(cp *checkpoint.Checkpointer, worker string) []string {
		t.Helper()
		var took []string
		for _, s := range topo {
			status := shard(s.ID)
			if len(s.Parents) > 0 {
				status.ParentShardId = s.Parents[0]
			}
			if err := cp.FetchCheckpoint(status); err != nil && !errors.Is(err, chk.ErrSequenceIDNotFound) {
				t.Fatal(err)
			}
			err := cp.GetLease(status, worker)
			switch {
			case err == nil:
				took = append(took, s.ID)
			case !errors.As(err, &chk.ErrLeaseNotAcquired{}):
				t.Fatalf("GetLease %s: %v", s.ID, err)
			}
		}
		sort.Strings(took)
		return took
	}

	// me: 7 active shards (p0, s0–s5) over 2 live workers → fair share 4; c0, c1 wait for p0.
	me := newPlanned("me")
	if got, want := pass(me, "me"), []string{"s1", "s2", "s3", "s4"}; !slices.Equal(got, want) {
		t.Fatalf("first pass took %v, want %v", got, want)
	}
	// A third worker: 3 live → fair share 3; only s5 is left.
	third := newPlanned("third")
	if got, want := pass(third, "third"), []string{"s5"}; !slices.Equal(got, want) {
		t.Fatalf("third worker took %v, want %v", got, want)
	}
	// p0 finishes: its children become active (8 active over 3 live workers → fair share 3),
	// and the third worker takes both in its next pass.
	if err := checkpointAt(t, other, shard("p0"), chk.ShardEnd); err != nil {
		t.Fatal(err)
	}
	if got, want := pass(third, "third"), []string{"c0", "c1"}; !slices.Equal(got, want) {
		t.Fatalf("after p0's SHARD_END the third worker took %v, want %v", got, want)
	}
}

// TestClaimShard_OnePendingClaim: a worker places one claim at a time. While its claim on one
// shard is pending (the owner has not released it), asking to claim another places nothing.
func TestClaimShard_OnePendingClaim(t *testing.T) {
	_, _, mk := newTable(t)
	owner, me := mk("owner"), mk("me")
	statuses := map[string]*par.ShardStatus{}
	for _, id := range []string{"s0", "s1", "s2"} {
		statuses[id] = shard(id)
		mustTake(t, owner, statuses[id], "owner")
	}
	if err := me.ClaimShard(statuses["s0"], "me"); err != nil {
		t.Fatal(err)
	}
	if err := me.ClaimShard(statuses["s1"], "me"); err != nil {
		t.Fatalf("a withheld claim must not be an error (the library logs it as a failed rebalance): %v", err)
	}
	if got := stored(t, me, "s1").ClaimRequest; got != "" {
		t.Fatalf("s1 claimed by %q while the claim on s0 is pending", got)
	}
	// The owner releases s0 and me takes it: the claim is fulfilled, the next may be placed.
	if err := owner.RemoveLeaseOwner("s0"); err != nil {
		t.Fatal(err)
	}
	mustTake(t, me, shard("s0"), "me")
	if err := me.ClaimShard(statuses["s1"], "me"); err != nil {
		t.Fatal(err)
	}
	if got := stored(t, me, "s1").ClaimRequest; got != "me" {
		t.Fatalf("s1 claim = %q after the first claim was fulfilled, want me", got)
	}
}

// TestListActiveWorkers_StaleViewKeepsHeldStatus: a pass's shared Scan may predate this
// worker's take in the same pass; ListActiveWorkers must not put the row's old owner into the
// status of a shard this worker holds, or the next renewal gives the shard up.
func TestListActiveWorkers_StaleViewKeepsHeldStatus(t *testing.T) {
	_, clk, mk := newTable(t)
	mustTake(t, mk("prev"), shard("s0"), "prev")
	me := mk("me", func(c *checkpoint.Config) { c.ViewMaxAge = time.Hour })
	clk.Advance(11 * time.Second)                            // prev's lease expires
	if _, err := me.Scan(context.Background()); err != nil { // the pass's view: s0 named prev
		t.Fatal(err)
	}
	s0 := shard("s0")
	mustTake(t, me, s0, "me")
	if _, err := me.ListActiveWorkers(map[string]*par.ShardStatus{"s0": s0}); err != nil && !errors.Is(err, chk.ErrShardNotAssigned) {
		t.Fatal(err)
	}
	if got := s0.GetLeaseOwner(); got != "me" {
		t.Fatalf("status owner %q after ListActiveWorkers from a view older than the take, want me", got)
	}
	if err := me.GetLease(s0, "me"); err != nil {
		t.Fatalf("renewal after ListActiveWorkers: %v", err)
	}
	if !me.Owns("s0") {
		t.Fatal("Owns(s0) = false after a successful renewal")
	}
}
