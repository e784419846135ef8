// Package expiry is the one home of the DynamoDB time-to-live contract the ledger and the
// dead-letter store share: the attribute DynamoDB's TTL reads, how an expiry is computed from a
// write time and a TTL, and how it is stored (a Number of epoch seconds).
package expiry

import (
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Attr (N, epoch seconds) is the time-to-live attribute of the ledger and dead-letter tables.
// DynamoDB deletes an item some time (typically within days) after that second has passed.
const Attr = "expires_at"

// At returns when an item written at at expires with TTL ttl: at + ttl rounded up to the second
// (the attribute holds whole seconds, and an item must never expire early), or false (never)
// when ttl ≤ 0.
func At(at time.Time, ttl time.Duration) (time.Time, bool) {
	if ttl <= 0 {
		return time.Time{}, false
	}
	exp := at.Add(ttl)
	if t := exp.Truncate(time.Second); t.Before(exp) {
		exp = t.Add(time.Second)
	}
	return exp, true
}

// Set stores exp in item under Attr, as epoch seconds; a zero exp (never) stores nothing.
func Set(item map[string]types.AttributeValue, exp time.Time) {
	if !exp.IsZero() {
		item[Attr] = &types.AttributeValueMemberN{Value: strconv.FormatInt(exp.Unix(), 10)}
	}
}

// Get reads the expiry Set stored in item (UTC); zero when item has none or it is not a whole
// number of seconds.
func Get(item map[string]types.AttributeValue) time.Time {
	v, ok := item[Attr].(*types.AttributeValueMemberN)
	if !ok {
		return time.Time{}
	}
	secs, err := strconv.ParseInt(v.Value, 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.Unix(secs, 0).UTC()
}
