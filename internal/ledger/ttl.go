package ledger

import (
	"time"

	"github.com/shardline/shardline/internal/envelope"
	"github.com/shardline/shardline/internal/expiry"
)

// AttrExpiresAt (N, epoch seconds) is the ledger table's DynamoDB time-to-live attribute. Commit
// writes it on tombstones only, when the Ledger has a tombstone TTL; every other entry has none.
// DynamoDB deletes an item some time (typically within days) after that second has passed.
const AttrExpiresAt = expiry.Attr

// IsTombstone reports whether e records that its object was deleted: an applied delete event.
// Only such entries may expire. A live object's entry is kept as long as the object lives (one
// item per object), while a deleted object's would stay forever; and a tombstone is only needed
// until no older event of its object can still arrive.
//
// Expiring a tombstone is safe because the handler converges the output to the input's current
// state whatever the event says (DESIGN.md, "Converge to state"): an event older than the expired
// tombstone that arrives later applies instead of being dropped as stale, and converges the output
// to the input as it is now (absent: no output). Events older than the stream's retention plus the
// longest notification delay can no longer arrive (except through a redrive or reconcile, which
// converge the same way), so a TTL above that bound only keeps such late applies from happening
// at all. A delete event whose input exists again (a versioned bucket) is recorded as a tombstone
// too; its expiry is harmless for the same reason: the next event of the object applies.
func IsTombstone(e Entry) bool {
	return e.Op == envelope.OpDelete && e.Outcome == OutcomeApplied
}

// ExpiresAt returns when the entry e, committed at e.UpdatedAt, may be deleted by DynamoDB's TTL,
// for a tombstone TTL ttl: e.UpdatedAt + ttl, rounded up to the second, for a tombstone and a
// positive ttl; otherwise false (never).
func ExpiresAt(e Entry, ttl time.Duration) (time.Time, bool) {
	if !IsTombstone(e) {
		return time.Time{}, false
	}
	return expiry.At(e.UpdatedAt, ttl)
}

// WithTombstoneTTL returns a Ledger on the same table whose commits of a tombstone set
// AttrExpiresAt to the commit time plus ttl (see IsTombstone for why that is safe). ttl ≤ 0 means
// tombstones never expire, the default of New. Whatever ttl is, a commit of any other entry
// writes no AttrExpiresAt, and since a commit replaces the whole item, an object whose tombstone
// is followed by a live event loses its expiry.
func (l *Ledger) WithTombstoneTTL(ttl time.Duration) *Ledger {
	c := *l
	c.tombstoneTTL = max(ttl, 0)
	return &c
}

// TombstoneTTL is the tombstone TTL commits use (0: tombstones never expire).
func (l *Ledger) TombstoneTTL() time.Duration { return l.tombstoneTTL }
