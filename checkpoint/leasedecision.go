package checkpoint

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// leaseItem is what a lease decision reads of a shard's lease item, as stored: the write's
// condition compares the lease timeout with the stored string, which may be of an earlier format
// (see parseTime).
type leaseItem struct {
	Owner        string
	LeaseTimeout string
	Parent       string
	ClaimRequest string
	ClaimTime    string
}

func leaseItemOf(item map[string]types.AttributeValue) leaseItem {
	return leaseItem{
		Owner:        attr(item, AttrOwner),
		LeaseTimeout: attr(item, AttrLeaseTimeout),
		Parent:       attr(item, AttrParent),
		ClaimRequest: attr(item, AttrClaimRequest),
		ClaimTime:    attr(item, AttrClaimTime),
	}
}

// leaseRequest is everything a take or renewal of one shard's lease depends on.
type leaseRequest struct {
	Worker        string        // who asks (the KCL passes its worker ID)
	Renewal       bool          // one of this worker's consumers holds the shard
	Parent        string        // the shard's parent as the KCL knows it; "" for none
	Item          leaseItem     // the lease item as read just before; zero if there is none
	Now           time.Time     // when the item was read
	LeaseDuration time.Duration // how long the lease lasts from Now
	ClaimTimeout  time.Duration // how long a ClaimRequest blocks everyone but its claimer
}

// leaseAction is what a lease decision asks for: one of three refusals or one of four writes.
type leaseAction int

const (
	refuseHeld      leaseAction = iota + 1 // another worker's lease has not expired
	refuseTakenOver                        // a renewal, but the item names another worker or nobody
	refuseClaimed                          // another worker's claim has not expired
	takeFree                               // nobody owns the lease
	takeExpired                            // another worker's lease has expired
	retakeOwn                              // the item names this worker, but none of its consumers holds the shard
	renewOwn                               // a renewal of this worker's lease, expired or not
)

// leaseDecision says whether a lease may be taken or renewed and, if so, with which write.
type leaseDecision struct {
	Action   leaseAction
	Other    string    // a refusal: the owner or claimer it names
	Previous string    // a write: the owner it replaces ("" for none)
	Until    time.Time // a write: the new lease timeout, unique to this write
	Write    rowUpdate // a write: compare-and-set on the owner and lease timeout as read
}

// refused reports whether the decision is a refusal (then Write is empty).
func (d leaseDecision) refused() bool {
	switch d.Action {
	case refuseHeld, refuseTakenOver, refuseClaimed:
		return true
	}
	return false
}

// reason says why the decision refuses.
func (d leaseDecision) reason() string {
	switch d.Action {
	case refuseHeld:
		return "held by " + d.Other
	case refuseTakenOver:
		return "taken over by " + d.Other
	case refuseClaimed:
		return "claimed by " + d.Other
	}
	return ""
}

// decideLease decides a take or renewal of a lease. It succeeds only if the lease is free,
// expired, or ours, and not claimed by another worker; a renewal only while the item still names
// this worker. The write it asks for is conditional on the owner and lease timeout it read, so
// that two workers never both succeed. It does no I/O.
func decideLease(r leaseRequest) leaseDecision {
	now, it := r.Now.UTC(), r.Item
	switch {
	case it.Owner != "" && it.Owner != r.Worker && now.Before(parseTime(it.LeaseTimeout)):
		return leaseDecision{Action: refuseHeld, Other: it.Owner}
	case r.Renewal && it.Owner != r.Worker:
		return leaseDecision{Action: refuseTakenOver, Other: it.Owner}
	case it.ClaimRequest != "" && it.ClaimRequest != r.Worker &&
		now.Before(parseTime(it.ClaimTime).Add(r.ClaimTimeout)):
		return leaseDecision{Action: refuseClaimed, Other: it.ClaimRequest}
	}
	until := now.Add(r.LeaseDuration)
	return leaseDecision{Action: takeActionOf(r), Previous: it.Owner, Until: until, Write: leaseWrite(r, until)}
}

// takeActionOf names the write of a request that is not refused.
func takeActionOf(r leaseRequest) leaseAction {
	switch {
	case r.Item.Owner == "":
		return takeFree
	case r.Item.Owner != r.Worker:
		return takeExpired
	case r.Renewal:
		return renewOwn
	default:
		return retakeOwn
	}
}
