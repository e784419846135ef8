package processor

import (
	"time"

	"github.com/shardline/shardline/internal/envelope"
)

// Operations an Event can carry.
const (
	OpPut    = envelope.OpPut    // the object was created or overwritten
	OpDelete = envelope.OpDelete // the object (or, in a versioned bucket, its current version) was removed
)

// Event is one S3 object event as a Handler receives it: decoded from the stream, checked, and
// already known to be the newest event of its object this worker has seen (older and duplicate
// events are dropped before a handler sees them). It is an ordering token and a wake-up for one
// object, never the truth about the object's content: a handler reads the input's current state
// (see Handler). The fields are those of the stream's envelope, version 1 (docs/envelope.md).
type Event struct {
	// V is the envelope schema version the event arrived in (1).
	V int
	// ID identifies the S3 event: a hash of bucket, key, sequencer and op, the same for every
	// delivery of one event.
	ID string
	// Source is where the notification came from: "aws:s3", "minio:s3", "aws.s3" (EventBridge).
	Source string
	// EventName is the store's own event name, e.g. "ObjectCreated:Put" (may be empty).
	EventName string
	// Bucket and Key name the object; Key is URL-decoded.
	Bucket string
	Key    string
	// Op is OpPut or OpDelete.
	Op string
	// Sequencer orders the events of one object: a larger one is newer. It is S3's sequencer,
	// normalised to 32 upper-case hex digits.
	Sequencer string
	// ETag, VersionID and Size are what the notification said about the object; the object may
	// have changed since.
	ETag      string
	VersionID string
	Size      int64
	// EventTime is when the store recorded the event; ForwardedAt when the forwarder wrote it to
	// the stream (zero if the producer did not say).
	EventTime   time.Time
	ForwardedAt time.Time
}

// ObjectID is the object's identity across the system, bucket + "/" + key: one ledger entry, one
// ordering, one output per ObjectID.
func (e Event) ObjectID() string { return e.Bucket + "/" + e.Key }

// eventOf is the handler's view of a decoded envelope. The two types have the same fields, so
// this is a plain conversion; a field added to one and not the other stops it compiling.
func eventOf(e envelope.Event) Event { return Event(e) }
