package forwarder

import (
	"errors"

	"github.com/shardline/shardline/internal/bucket"
	"github.com/shardline/shardline/internal/envelope"
)

// Reasons an event is refused, the values of the reason label of events_refused_total.
const (
	// RefusedForeignBucket: a valid bucket name that is not on the input-bucket allow-list.
	RefusedForeignBucket = "foreign_bucket"
	// RefusedInvalidBucket: a bucket field that is not a valid S3 bucket name (an ARN, an
	// access-point alias, upper case, an IP address, ...).
	RefusedInvalidBucket = "invalid_bucket"
)

// refusal is one event admit kept off the stream.
type refusal struct {
	event  envelope.Event
	reason string
	err    error
}

// admit splits events into those whose bucket the allow-list accepts, in order, and refusals.
func admit(allow bucket.AllowList, events []envelope.Event) ([]envelope.Event, []refusal) {
	var refused []refusal
	kept := events[:0:0]
	for _, ev := range events {
		err := allow.Check(ev.Bucket)
		switch {
		case err == nil:
			kept = append(kept, ev)
		case errors.Is(err, bucket.ErrNotAllowed):
			refused = append(refused, refusal{event: ev, reason: RefusedForeignBucket, err: err})
		default:
			refused = append(refused, refusal{event: ev, reason: RefusedInvalidBucket, err: err})
		}
	}
	return kept, refused
}
