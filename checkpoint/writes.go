package checkpoint

import (
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Every write of the lease table is one of these conditional updates: the conditions are what
// keeps leases exclusive and checkpoints forward-only (see the package doc). Building them does
// no I/O; updateRow makes them.

// rowUpdate is one conditional UpdateItem of a shard's lease item.
type rowUpdate struct {
	update string // UpdateExpression
	cond   string // ConditionExpression
	names  map[string]string
	values map[string]types.AttributeValue // may be empty
}

// input is the UpdateItem request of u on shardID's item.
func (u rowUpdate) input(table, shardID string) *dynamodb.UpdateItemInput {
	in := &dynamodb.UpdateItemInput{
		TableName:                aws.String(table),
		Key:                      shardKey(shardID),
		UpdateExpression:         aws.String(u.update),
		ConditionExpression:      aws.String(u.cond),
		ExpressionAttributeNames: u.names,
	}
	if len(u.values) > 0 { // DynamoDB rejects an empty map
		in.ExpressionAttributeValues = u.values
	}
	return in
}

// leaseWrite is the conditional write that makes r.Worker the owner until until: only if the
// owner and lease timeout are still as read (or there is still no owner). It raises the lease
// counter, records the shard's parent if the item has none, and clears any claim: ours is
// fulfilled, and anyone else's has expired.
func leaseWrite(r leaseRequest, until time.Time) rowUpdate {
	u := rowUpdate{
		update: "SET #owner = :me, #timeout = :until",
		names:  map[string]string{"#owner": AttrOwner, "#timeout": AttrLeaseTimeout, "#counter": AttrLeaseCounter},
		values: map[string]types.AttributeValue{
			":me":    str(r.Worker),
			":until": str(formatTime(until)),
			":one":   &types.AttributeValueMemberN{Value: "1"},
		},
	}
	if r.Item.Owner == "" {
		u.cond = "attribute_not_exists(#owner)"
	} else {
		u.cond = "#owner = :prev_owner AND #timeout = :prev_timeout"
		u.values[":prev_owner"] = str(r.Item.Owner)
		u.values[":prev_timeout"] = str(r.Item.LeaseTimeout)
	}
	if r.Parent != "" && r.Item.Parent == "" {
		u.update += ", #parent = :parent"
		u.names["#parent"] = AttrParent
		u.values[":parent"] = str(r.Parent)
	}
	u.update += " ADD #counter :one"
	if r.Item.ClaimRequest != "" {
		u.update += " REMOVE #claim, #claim_time"
		u.names["#claim"] = AttrClaimRequest
		u.names["#claim_time"] = AttrClaimTime
	}
	return u
}

// checkpointWrite records checkpoint cp (order is Order(cp)) only while worker owns the lease and
// only forwards.
func checkpointWrite(worker, cp, order string) rowUpdate {
	return rowUpdate{
		update: "SET #cp = :cp, #order = :order",
		cond:   "#owner = :me AND (attribute_not_exists(#order) OR #order <= :order)",
		names:  map[string]string{"#cp": AttrCheckpoint, "#order": AttrCheckpointOrder, "#owner": AttrOwner},
		values: map[string]types.AttributeValue{":cp": str(cp), ":order": str(order), ":me": str(worker)},
	}
}

// releaseWrite removes the owner only if it is still worker.
func releaseWrite(worker string) rowUpdate {
	return rowUpdate{
		update: "REMOVE #owner",
		cond:   "#owner = :me",
		names:  map[string]string{"#owner": AttrOwner},
		values: map[string]types.AttributeValue{":me": str(worker)},
	}
}

// claimWrite places claimer's claim at now, only while owner still owns the lease and no other
// claim younger than claimTimeout is pending. The claim time's fixed width (see timeLayout)
// makes the string comparison a time comparison.
func claimWrite(owner, claimer string, now time.Time, claimTimeout time.Duration) rowUpdate {
	return rowUpdate{
		update: "SET #claim = :claimer, #claim_time = :now",
		cond:   "#owner = :owner AND (attribute_not_exists(#claim) OR #claim_time < :stale)",
		names:  map[string]string{"#claim": AttrClaimRequest, "#claim_time": AttrClaimTime, "#owner": AttrOwner},
		values: map[string]types.AttributeValue{
			":claimer": str(claimer),
			":now":     str(formatTime(now)),
			":owner":   str(owner),
			":stale":   str(formatTime(now.Add(-claimTimeout))),
		},
	}
}

// rewindWrite sets the checkpoint to to (a sequence number, checked by the caller; "" removes
// it) and removes the owner and any claim, only if the item's checkpoint and lease counter are
// still those of seen.
func rewindWrite(seen Lease, to string) rowUpdate {
	names := map[string]string{
		"#id": AttrShardID, "#cp": AttrCheckpoint, "#order": AttrCheckpointOrder, "#owner": AttrOwner,
		"#claim": AttrClaimRequest, "#claim_time": AttrClaimTime, "#counter": AttrLeaseCounter,
	}
	values := map[string]types.AttributeValue{}
	cond := "attribute_exists(#id)"
	if seen.Checkpoint == "" {
		cond += " AND attribute_not_exists(#cp)"
	} else {
		cond += " AND #cp = :seen_cp"
		values[":seen_cp"] = str(seen.Checkpoint)
	}
	if seen.Counter == 0 {
		cond += " AND attribute_not_exists(#counter)"
	} else {
		cond += " AND #counter = :seen_counter"
		values[":seen_counter"] = &types.AttributeValueMemberN{Value: strconv.FormatInt(seen.Counter, 10)}
	}
	update := "REMOVE #cp, #order, #owner, #claim, #claim_time"
	if to != "" {
		order, _ := Order(to) // the caller checked it
		update = "SET #cp = :cp, #order = :order REMOVE #owner, #claim, #claim_time"
		values[":cp"], values[":order"] = str(to), str(order)
	}
	return rowUpdate{update: update, cond: cond, names: names, values: values}
}
