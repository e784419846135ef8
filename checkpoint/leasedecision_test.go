package checkpoint

import (
	"strings"
	"testing"
	"time"
)

func TestDecideLease(t *testing.T) {
	const (
		me, other, third = "me", "other", "third"
		leaseFor         = 10 * time.Second
		claimFor         = 30 * time.Second
	)
	now := time.Date(2026, 3, 1, 12, 0, 0, 500_000_000, time.UTC)
	at := func(d time.Duration) string { return formatTime(now.Add(d)) }
	// A lease timeout as the previous version stored it: RFC 3339 without trailing zeros.
	oldFormat := now.Add(-time.Second).Truncate(time.Second).Format(time.RFC3339Nano)
	live, expired := at(time.Second), at(-time.Second)

	const (
		take     = "SET #owner = :me, #timeout = :until ADD #counter :one"
		takeClr  = take + " REMOVE #claim, #claim_time"
		withPar  = "SET #owner = :me, #timeout = :until, #parent = :parent ADD #counter :one"
		noOwner  = "attribute_not_exists(#owner)"
		asRead   = "#owner = :prev_owner AND #timeout = :prev_timeout"
		noUpdate = ""
	)
	cases := []struct {
		name    string
		renewal bool
		parent  string
		item    leaseItem
		action  leaseAction
		other   string // the worker a refusal names
		update  string // the write's update expression (takes and renewals)
		cond    string // the write's condition (takes and renewals)
	}{
		// Takes: no consumer of this worker holds the shard.
		{name: "no item yet: take", action: takeFree, update: take, cond: noOwner},
		{name: "item without owner: take", item: leaseItem{LeaseTimeout: expired}, action: takeFree, update: take, cond: noOwner},
		{name: "another worker's live lease: refuse", item: leaseItem{Owner: other, LeaseTimeout: live}, action: refuseHeld, other: other},
		{name: "another worker's lease 1ns before expiry: refuse", item: leaseItem{Owner: other, LeaseTimeout: at(time.Nanosecond)}, action: refuseHeld, other: other},
		{name: "another worker's lease expiring now: take over", item: leaseItem{Owner: other, LeaseTimeout: at(0)}, action: takeExpired, update: take, cond: asRead},
		{name: "another worker's expired lease: take over", item: leaseItem{Owner: other, LeaseTimeout: expired}, action: takeExpired, update: take, cond: asRead},
		{name: "another worker's lease without timeout counts as expired", item: leaseItem{Owner: other}, action: takeExpired, update: take, cond: asRead},
		{name: "expired lease of the previous format: condition on the stored string", item: leaseItem{Owner: other, LeaseTimeout: oldFormat}, action: takeExpired, update: take, cond: asRead},
		{name: "item names this worker, live, no consumer: take again", item: leaseItem{Owner: me, LeaseTimeout: live}, action: retakeOwn, update: take, cond: asRead},
		{name: "item names this worker, expired, no consumer: take again", item: leaseItem{Owner: me, LeaseTimeout: expired}, action: retakeOwn, update: take, cond: asRead},

		// Claims (lease stealing for rebalancing).
		{name: "free, another worker's live claim: refuse", item: leaseItem{ClaimRequest: third, ClaimTime: at(-claimFor + time.Nanosecond)}, action: refuseClaimed, other: third},
		{name: "free, another worker's claim expiring now: take, clear it", item: leaseItem{ClaimRequest: third, ClaimTime: at(-claimFor)}, action: takeFree, update: takeClr, cond: noOwner},
		{name: "free, another worker's claim without time counts as expired", item: leaseItem{ClaimRequest: third}, action: takeFree, update: takeClr, cond: noOwner},
		{name: "free, our own live claim: take, fulfil it", item: leaseItem{ClaimRequest: me, ClaimTime: at(0)}, action: takeFree, update: takeClr, cond: noOwner},
		{name: "expired lease, another worker's live claim: refuse", item: leaseItem{Owner: other, LeaseTimeout: expired, ClaimRequest: third, ClaimTime: at(0)}, action: refuseClaimed, other: third},
		{name: "live lease and a live claim: the owner is named", item: leaseItem{Owner: other, LeaseTimeout: live, ClaimRequest: third, ClaimTime: at(0)}, action: refuseHeld, other: other},
		{name: "expired lease, our own claim: take over, fulfil it", item: leaseItem{Owner: other, LeaseTimeout: expired, ClaimRequest: me, ClaimTime: at(0)}, action: takeExpired, update: takeClr, cond: asRead},

		// Renewals: one of this worker's consumers holds the shard.
		{name: "renewal of a live lease", renewal: true, item: leaseItem{Owner: me, LeaseTimeout: live}, action: renewOwn, update: take, cond: asRead},
		{name: "renewal of our expired lease nobody took", renewal: true, item: leaseItem{Owner: me, LeaseTimeout: expired}, action: renewOwn, update: take, cond: asRead},
		{name: "renewal, another worker's live lease: refuse as held", renewal: true, item: leaseItem{Owner: other, LeaseTimeout: live}, action: refuseHeld, other: other},
		{name: "renewal, another worker took the expired lease over", renewal: true, item: leaseItem{Owner: other, LeaseTimeout: expired}, action: refuseTakenOver, other: other},
		{name: "renewal, the owner was removed (released or rewound)", renewal: true, item: leaseItem{LeaseTimeout: live}, action: refuseTakenOver},
		{name: "renewal, the item is gone", renewal: true, action: refuseTakenOver},
		{name: "renewal, another worker's live claim: refuse", renewal: true, item: leaseItem{Owner: me, LeaseTimeout: live, ClaimRequest: other, ClaimTime: at(0)}, action: refuseClaimed, other: other},
		{name: "renewal, another worker's expired claim: renew, clear it", renewal: true, item: leaseItem{Owner: me, LeaseTimeout: live, ClaimRequest: other, ClaimTime: at(-2 * claimFor)}, action: renewOwn, update: takeClr, cond: asRead},

		// The parent is recorded once.
		{name: "a child's first take records its parent", parent: "p0", action: takeFree, update: withPar, cond: noOwner},
		{name: "a parent already recorded is not written again", parent: "p0", item: leaseItem{Parent: "p0"}, action: takeFree, update: take, cond: noOwner},
		{name: "a parent unknown to the KCL is not written", item: leaseItem{Parent: "p0"}, action: takeFree, update: take, cond: noOwner},
		{name: "renewal of a child without a recorded parent records it", renewal: true, parent: "p0", item: leaseItem{Owner: me, LeaseTimeout: live}, action: renewOwn, update: withPar, cond: asRead},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := leaseRequest{
				Worker: me, Renewal: tc.renewal, Parent: tc.parent, Item: tc.item,
				Now: now.In(time.FixedZone("elsewhere", 3600)), LeaseDuration: leaseFor, ClaimTimeout: claimFor,
			}
			d := decideLease(req)
			if d.Action != tc.action {
				t.Fatalf("action = %s, want %s", actionNames[d.Action], actionNames[tc.action])
			}
			if d.refused() != (tc.update == noUpdate) {
				t.Fatalf("refused() = %v for action %s", d.refused(), actionNames[d.Action])
			}
			if d.refused() {
				if d.Other != tc.other {
					t.Errorf("refusal names %q, want %q", d.Other, tc.other)
				}
				if !strings.HasSuffix(d.reason(), " by "+tc.other) {
					t.Errorf("reason %q does not name %q", d.reason(), tc.other)
				}
				return
			}
			if !d.Until.Equal(now.Add(leaseFor)) || d.Until.Location() != time.UTC {
				t.Errorf("until = %v, want %v in UTC", d.Until, now.Add(leaseFor))
			}
			if d.Previous != tc.item.Owner {
				t.Errorf("previous owner = %q, want %q", d.Previous, tc.item.Owner)
			}
			checkLeaseWrite(t, req, d, tc.update, tc.cond)
		})
	}
}

var actionNames = map[leaseAction]string{
	refuseHeld: "refuseHeld", refuseTakenOver: "refuseTakenOver", refuseClaimed: "refuseClaimed",
	takeFree: "takeFree", takeExpired: "takeExpired", retakeOwn: "retakeOwn", renewOwn: "renewOwn",
}

// checkLeaseWrite checks the write of a take or renewal: its expressions, that they use every
// name and value given and no other (DynamoDB refuses both), and what each name and value is.
func checkLeaseWrite(t *testing.T, req leaseRequest, d leaseDecision, update, cond string) {
	t.Helper()
	u := d.Write
	if u.update != update || u.cond != cond {
		t.Errorf("write:\n  update %q\n  cond   %q\nwant:\n  update %q\n  cond   %q", u.update, u.cond, update, cond)
	}
	checkPlaceholders(t, u)
	wantNames := map[string]string{
		"#owner": AttrOwner, "#timeout": AttrLeaseTimeout, "#counter": AttrLeaseCounter,
		"#parent": AttrParent, "#claim": AttrClaimRequest, "#claim_time": AttrClaimTime,
	}
	for k, v := range u.names {
		if wantNames[k] != v {
			t.Errorf("name %s = %q, want %q", k, v, wantNames[k])
		}
	}
	wantValues := map[string]string{
		":me": req.Worker, ":until": formatTime(d.Until), ":one": "1",
		":prev_owner": req.Item.Owner, ":prev_timeout": req.Item.LeaseTimeout, ":parent": req.Parent,
	}
	for k, v := range valueStrings(u) {
		if v != wantValues[k] {
			t.Errorf("value %s = %q, want %q", k, v, wantValues[k])
		}
	}
}
