package checkpoint

import (
	"fmt"
	"log/slog"
	"slices"
)

// planRefusal returns why this worker's plan withholds the take of shardID now, or "" if the
// plan allows it or cannot be made (see Config.Topology).
func (c *Checkpointer) planRefusal(shardID string) string {
	if c.cfg.Topology == nil {
		return ""
	}
	ctx, cancel := c.ctx()
	defer cancel()
	shards, err := c.cfg.Topology.Shards(ctx)
	if err != nil {
		c.cfg.Logger.Debug("lease plan: no shard list; taking unplanned", slog.String("error", err.Error()))
		return ""
	}
	if !slices.ContainsFunc(shards, func(s Shard) bool { return s.ID == shardID }) {
		return ""
	}
	leases, err := c.recentLeases(ctx)
	if err != nil {
		c.cfg.Logger.Debug("lease plan: no lease table; taking unplanned", slog.String("error", err.Error()))
		return ""
	}
	p := PlanTakes(PlanInput{
		Worker: c.cfg.WorkerID, Now: c.cfg.Now(), ClaimTimeout: c.cfg.ClaimTimeout,
		Shards: shards, Leases: leases, Held: c.heldIDs(),
	})
	switch {
	case p.Allows(shardID):
		return ""
	case slices.Contains(p.Blocked, shardID):
		return "a parent shard has not reached SHARD_END"
	case len(p.Take) == 0:
		return fmt.Sprintf("not taken now (fair share %d of %d active shards over %d workers)", p.FairShare, p.Active, p.Live)
	default:
		return "other shards come first"
	}
}

// claimWithheld returns why claimer should place no claim now, or "" if it may (or the lease
// table cannot be read: the claim's own condition still decides).
func (c *Checkpointer) claimWithheld(claimer string) string {
	ctx, cancel := c.ctx()
	defer cancel()
	leases, err := c.recentLeases(ctx)
	if err != nil {
		return ""
	}
	now := c.cfg.Now()
	for _, l := range leases {
		if l.ClaimRequest == claimer && l.Owner != claimer && now.Before(l.ClaimTime.Add(c.cfg.ClaimTimeout)) {
			return "claim on " + l.ShardID + " still pending"
		}
	}
	if c.cfg.Topology == nil {
		return ""
	}
	shards, err := c.cfg.Topology.Shards(ctx)
	if err != nil {
		return ""
	}
	p := PlanTakes(PlanInput{Worker: claimer, Now: now, ClaimTimeout: c.cfg.ClaimTimeout, Shards: shards, Leases: leases, Held: c.heldIDs()})
	if held := len(c.heldIDs()); held >= p.FairShare {
		return fmt.Sprintf("holds %d, its fair share", held)
	}
	return ""
}
