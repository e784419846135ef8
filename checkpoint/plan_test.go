package checkpoint_test

import (
	"slices"
	"testing"
	"time"

	"github.com/shardline/shardline/checkpoint"
)

func TestPlanTakes(t *testing.T) {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	live, expired := now.Add(5*time.Second), now.Add(-time.Second)
	flat := func(ids ...string) []checkpoint.Shard {
		var s []checkpoint.Shard
		for _, id := range ids {
			s = append(s, checkpoint.Shard{ID: id})
		}
		return s
	}
	eight := flat("s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7")
	owned := func(owner string, until time.Time, ids ...string) []checkpoint.Lease {
		var l []checkpoint.Lease
		for _, id := range ids {
			l = append(l, checkpoint.Lease{ShardID: id, Owner: owner, LeaseTimeout: until, Checkpoint: "100"})
		}
		return l
	}
	ended := func(ids ...string) []checkpoint.Lease {
		var l []checkpoint.Lease
		for _, id := range ids {
			l = append(l, checkpoint.Lease{ShardID: id, Checkpoint: "SHARD_END"})
		}
		return l
	}
	// A 2 → 4 reshard: p0 split into c0, c1; p1 into c2, c3.
	resharded := []checkpoint.Shard{
		{ID: "p0"}, {ID: "p1"},
		{ID: "c0", Parents: []string{"p0"}}, {ID: "c1", Parents: []string{"p0"}},
		{ID: "c2", Parents: []string{"p1"}}, {ID: "c3", Parents: []string{"p1"}},
	}
	// A merge of m0 and m1 into m2.
	merged := []checkpoint.Shard{{ID: "m0"}, {ID: "m1"}, {ID: "m2", Parents: []string{"m0", "m1"}}}

	cases := []struct {
		name      string
		shards    []checkpoint.Shard
		leases    []checkpoint.Lease
		held      []string
		take      []string
		blocked   []string
		fairShare int
	}{
		{
			name: "new stream, alone: every shard in one pass", shards: eight,
			take: []string{"s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7"}, fairShare: 8,
		},
		{
			name: "graceful handoff: the released leases of a stopped worker, all at once", shards: flat("s0", "s1", "s2", "s3"),
			leases: append(owned("me", live, "s0", "s1"), checkpoint.Lease{ShardID: "s2", Checkpoint: "7"}, checkpoint.Lease{ShardID: "s3", Checkpoint: "9"}),
			held:   []string{"s0", "s1"}, take: []string{"s2", "s3"}, fairShare: 4,
		},
		{
			name: "failover: four expired leases of a dead worker, all at once", shards: eight,
			leases: append(owned("me", live, "s0", "s1", "s2", "s3"), owned("dead", expired, "s4", "s5", "s6", "s7")...),
			held:   []string{"s0", "s1", "s2", "s3"}, take: []string{"s4", "s5", "s6", "s7"}, fairShare: 8,
		},
		{
			name: "scale-out: nothing free, a live worker holds everything", shards: eight,
			leases: owned("other", live, "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7"), fairShare: 4,
		},
		{
			name: "two starting together: up to the fair share of free leases", shards: eight,
			leases: owned("other", live, "s0"), take: []string{"s1", "s2", "s3", "s4"}, fairShare: 4,
		},
		{
			name: "fair share reached: the rest is left to the other worker", shards: eight,
			leases: append(owned("me", live, "s0", "s1", "s2", "s3"), owned("other", live, "s4")...),
			held:   []string{"s0", "s1", "s2", "s3"}, fairShare: 4,
		},
		{
			name: "fair share rounds up", shards: flat("s0", "s1", "s2"),
			leases: owned("other", live, "s0"), take: []string{"s1", "s2"}, fairShare: 2,
		},
		{
			name: "a claim for this worker comes first", shards: flat("s0", "s1", "s2", "s3"),
			leases: []checkpoint.Lease{
				{ShardID: "s0", Owner: "other", LeaseTimeout: live},
				{ShardID: "s1", Owner: "other", LeaseTimeout: live},
				{ShardID: "s2"},
				{ShardID: "s3", ClaimRequest: "me", ClaimTime: now.Add(-time.Second)},
			},
			take: []string{"s3", "s2"}, fairShare: 2,
		},
		{
			name: "another worker's live claim is left alone; an expired one is not", shards: flat("s0", "s1"),
			leases: []checkpoint.Lease{
				{ShardID: "s0", ClaimRequest: "other", ClaimTime: now.Add(-time.Second)},
				{ShardID: "s1", ClaimRequest: "other", ClaimTime: now.Add(-time.Hour)},
			},
			take: []string{"s1"}, fairShare: 2,
		},
		{
			name: "a row naming this worker without a consumer is taken again", shards: flat("s0"),
			leases: owned("me", live, "s0"), take: []string{"s0"}, fairShare: 1,
		},
		{
			name: "after a reshard: parents before children", shards: resharded,
			take: []string{"p0", "p1"}, blocked: []string{"c0", "c1", "c2", "c3"}, fairShare: 2,
		},
		{
			name: "after reprocess: parents rewound, children free, only parents taken", shards: resharded,
			leases: []checkpoint.Lease{
				{ShardID: "p0", Checkpoint: "1"}, {ShardID: "p1", Checkpoint: "1"},
				{ShardID: "c0", Checkpoint: "5"}, {ShardID: "c1", Checkpoint: "5"},
				{ShardID: "c2", Checkpoint: "5"}, {ShardID: "c3", Checkpoint: "5"},
			},
			take: []string{"p0", "p1"}, blocked: []string{"c0", "c1", "c2", "c3"}, fairShare: 2,
		},
		{
			name: "one parent finished: its children only", shards: resharded,
			leases: append(ended("p0"), owned("other", live, "p1")...),
			take:   []string{"c0", "c1"}, blocked: []string{"c2", "c3"}, fairShare: 2,
		},
		{
			name: "both parents finished: the children, fair share over two workers", shards: resharded,
			leases: append(ended("p0", "p1"), owned("other", live, "c0")...),
			take:   []string{"c1", "c2"}, fairShare: 2,
		},
		{
			name: "merge: the child waits for both parents", shards: merged,
			leases: ended("m0"), take: []string{"m1"}, blocked: []string{"m2"}, fairShare: 1,
		},
		{
			name: "merge: both parents finished", shards: merged,
			leases: ended("m0", "m1"), take: []string{"m2"}, fairShare: 1,
		},
		{
			name:   "a parent gone from the stream (past retention) counts as finished",
			shards: []checkpoint.Shard{{ID: "c0", Parents: []string{"gone"}}},
			take:   []string{"c0"}, fairShare: 1,
		},
		{
			name: "workers holding only finished shards are not live", shards: flat("s0", "s1"),
			leases: []checkpoint.Lease{{ShardID: "s0", Owner: "other", LeaseTimeout: live, Checkpoint: "SHARD_END"}, {ShardID: "s1"}},
			take:   []string{"s1"}, fairShare: 1,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := checkpoint.PlanTakes(checkpoint.PlanInput{
				Worker: "me", Now: now, ClaimTimeout: 30 * time.Second,
				Shards: tc.shards, Leases: tc.leases, Held: tc.held,
			})
			if !slices.Equal(p.Take, tc.take) {
				t.Errorf("Take = %v, want %v", p.Take, tc.take)
			}
			if !slices.Equal(p.Blocked, tc.blocked) {
				t.Errorf("Blocked = %v, want %v", p.Blocked, tc.blocked)
			}
			if p.FairShare != tc.fairShare {
				t.Errorf("FairShare = %d, want %d", p.FairShare, tc.fairShare)
			}
			for _, id := range tc.take {
				if !p.Allows(id) {
					t.Errorf("Allows(%s) = false for a shard in Take", id)
				}
			}
		})
	}
}
