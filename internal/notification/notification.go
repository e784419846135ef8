package notification

import (
	"errors"
	"fmt"

	"github.com/shardline/shardline/internal/envelope"
)

// MaxDepth is how many wrappers (SQS record bodies, SNS messages) may enclose a notification.
// Real deliveries need at most two (SQS around SNS around S3); a deeper body is refused whole.
const MaxDepth = 4

// MaxRecords bounds the records of one body: no Records array, and no body in total (events plus
// skips, across every wrapper), may hold more. A larger body is refused whole.
const MaxRecords = 10_000

// Skip reasons. Each is a stable label suitable for a metric label value.
const (
	// ReasonTestEvent: the s3:TestEvent S3 sends when a notification configuration is saved.
	ReasonTestEvent = "test_event"
	// ReasonNotObjectEvent: a well-formed event that does not change an object's content or
	// existence (restore, replication, tagging, ACL, transition, access, MinIO metadata-only
	// ObjectCreated:PutTagging/PutRetention/..., EventBridge detail-types other than Object
	// Created/Deleted or sources other than aws.s3, SNS subscription control messages).
	ReasonNotObjectEvent = "not_object_event"
	// ReasonUnknownEventName: an S3 record whose eventName is missing or of no known family.
	ReasonUnknownEventName = "unknown_event_name"
	// ReasonUnsupportedEventVersion: an S3 record whose eventVersion is missing or not 2.x, or an
	// EventBridge event whose version is not "0".
	ReasonUnsupportedEventVersion = "unsupported_event_version"
	// ReasonNoSequencer: an object event without a sequencer; it cannot be ordered.
	ReasonNoSequencer = "no_sequencer"
	// ReasonInvalidSequencer: a sequencer envelope.New rejects (non-hex, too long).
	ReasonInvalidSequencer = "invalid_sequencer"
	// ReasonInvalidKey: an object key whose URL encoding is invalid or that does not decode to
	// UTF-8.
	ReasonInvalidKey = "invalid_key"
	// ReasonInvalidRecord: a record of a known shape with a missing or wrong field (bucket, key,
	// key longer than envelope.MaxKeyLen, eventTime, size, wrapper body, a source, eventName,
	// ETag or version ID longer than envelope.MaxFieldLen), or a Records element of no known
	// shape. The field limits mean every event Parse returns fits one Kinesis record.
	ReasonInvalidRecord = "invalid_record"
	// ReasonMalformedBody: a wrapped message (SQS record body, SNS Message) that is not a
	// notification Parse understands; Detail holds the *MalformedError text.
	ReasonMalformedBody = "malformed_body"
	// ReasonEmptyNotification: a notification whose Records array is empty.
	ReasonEmptyNotification = "empty_notification"
)

// Skip is one record that was recognised but deliberately not forwarded. Reason is one of the
// Reason* constants; Detail says where in the body the record was and why, for logs.
type Skip struct {
	Reason string
	Detail string
}

// Result is what one body yields: the events to forward, in body order, and the records that were
// skipped. A body that Parse accepts yields at least one event or skip.
type Result struct {
	Events  []envelope.Event
	Skipped []Skip
}

// ErrMalformed is wrapped by every error Parse returns.
var ErrMalformed = errors.New("malformed notification")

// MalformedError says why a body, or the wrapped message at Path, is not a notification Parse
// understands. It wraps ErrMalformed and, when there is one, the decoding error (Err).
type MalformedError struct {
	// Path locates the offending message inside the body, e.g. "Records[2].body"; empty for the
	// body itself.
	Path   string
	Reason string
	Err    error
}

func (e *MalformedError) Error() string {
	msg := ErrMalformed.Error()
	if e.Path != "" {
		msg += " at " + e.Path
	}
	msg += ": " + e.Reason
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap lets errors.Is(err, ErrMalformed) match, and errors.As reach the decoding error.
func (e *MalformedError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrMalformed}
	}
	return []error{ErrMalformed, e.Err}
}

// Limits a LimitError can name.
const (
	LimitDepth   = "depth"
	LimitRecords = "records"
)

// LimitError is returned for a body that exceeds a guard: wrappers nested deeper than MaxDepth, or
// more than MaxRecords records. It wraps ErrMalformed. Unlike a malformed wrapped message, which
// is only skipped, a LimitError anywhere refuses the whole body.
type LimitError struct {
	Path  string // where the limit was hit; empty for the body itself
	Limit string // LimitDepth or LimitRecords
	Max   int
}

func (e *LimitError) Error() string {
	msg := ErrMalformed.Error()
	if e.Path != "" {
		msg += " at " + e.Path
	}
	switch e.Limit {
	case LimitDepth:
		return fmt.Sprintf("%s: wrappers nested more than %d deep", msg, e.Max)
	default:
		return fmt.Sprintf("%s: more than %d %s", msg, e.Max, e.Limit)
	}
}

// Unwrap lets errors.Is(err, ErrMalformed) match.
func (e *LimitError) Unwrap() error { return ErrMalformed }

// Parse decodes one notification body into events and skips. It returns an error, a
// *MalformedError or *LimitError wrapping ErrMalformed, only when the body as a whole is not a
// notification it understands (not JSON, not an object, an object of no known shape) or exceeds
// MaxDepth or MaxRecords; then the Result is empty. Individual bad records, including wrapped
// messages that are not notifications, become Skips with a reason and never vanish silently.
// Every returned event passes envelope.Event.Validate.
func Parse(body []byte) (Result, error) {
	var p parser
	if err := p.message(body, "", 0); err != nil {
		return Result{}, err
	}
	return p.res, nil
}
