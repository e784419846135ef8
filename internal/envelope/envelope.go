// Package envelope defines the versioned record that the forwarder writes to the stream and the
// worker reads from it: one normalised S3 object event.
package envelope

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/shardline/shardline/internal/sequencer"
)

// Version is the schema version this build writes and the only one it reads.
const Version = 1

// Operations an event can carry.
const (
	OpPut    = "put"
	OpDelete = "delete"
)

// MaxPartitionKeyLen is Kinesis' limit on a partition key (Unicode code points; we count bytes,
// which is never fewer).
const MaxPartitionKeyLen = 256

// MaxKeyLen is S3's limit on an object key in bytes.
const MaxKeyLen = 1024

// MaxBucketLen bounds the bucket name in bytes. S3 bucket names are at most 63 characters; 255
// leaves room for S3-compatible stores.
const MaxBucketLen = 255

// MaxFieldLen bounds each free-text field besides bucket and key (source, eventName, etag,
// versionId), in bytes. Real values are far shorter (S3 version IDs are at most 1,024 bytes,
// ETags about 40); the bound keeps a hostile notification from producing an envelope that does
// not fit one Kinesis record, or ledger and dead-letter items that do not fit DynamoDB's.
const MaxFieldLen = 1024

// MaxEncodedLen bounds the wire form of an event: Encode never returns more bytes. With every
// field at its limit and every byte escaped by JSON (6 bytes each), an envelope is about 32 KiB,
// so together with a partition key it always fits one Kinesis record (1 MiB).
const MaxEncodedLen = 64 << 10

// Event is one S3 object event in normalised form. Key is the decoded object key and Sequencer
// the normalised sequencer (see package sequencer).
type Event struct {
	V           int       `json:"v"`
	ID          string    `json:"id"`
	Source      string    `json:"source"`
	EventName   string    `json:"eventName,omitempty"`
	Bucket      string    `json:"bucket"`
	Key         string    `json:"key"`
	Op          string    `json:"op"`
	Sequencer   string    `json:"sequencer"`
	ETag        string    `json:"etag,omitempty"`
	VersionID   string    `json:"versionId,omitempty"`
	Size        int64     `json:"size,omitempty"`
	EventTime   time.Time `json:"eventTime"`
	ForwardedAt time.Time `json:"forwardedAt,omitempty"`
}

// ErrInvalid is wrapped by every validation and decoding error of this package.
var ErrInvalid = errors.New("invalid envelope")

// FieldError says which field of an envelope was wrong and why.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return fmt.Sprintf("envelope field %s: %s", e.Field, e.Reason) }

// clip bounds a value quoted in an error: records can be hostile.
func clip(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}

// Unwrap lets errors.Is(err, ErrInvalid) match.
func (e *FieldError) Unwrap() error { return ErrInvalid }

// VersionError is returned for an envelope whose schema version this build does not read.
type VersionError struct{ Got int }

func (e *VersionError) Error() string {
	return fmt.Sprintf("envelope schema version %d not supported (want %d)", e.Got, Version)
}

// Unwrap lets errors.Is(err, ErrInvalid) match.
func (e *VersionError) Unwrap() error { return ErrInvalid }

// New builds a valid Event from raw fields: it normalises the sequencer, fills V and ID and
// validates the result.
func New(source, eventName, bucket, key, op, rawSequencer, etag, versionID string, size int64, eventTime time.Time) (Event, error) {
	seq, err := sequencer.Normalize(rawSequencer)
	if err != nil {
		return Event{}, &FieldError{Field: "sequencer", Reason: err.Error()}
	}
	ev := Event{
		V:         Version,
		Source:    source,
		EventName: eventName,
		Bucket:    bucket,
		Key:       key,
		Op:        op,
		Sequencer: seq,
		ETag:      etag,
		VersionID: versionID,
		Size:      size,
		EventTime: eventTime.UTC(),
	}
	ev.ID = ID(bucket, key, seq, op)
	return ev, ev.Validate()
}

// ID is the deterministic idempotency key of an event: the same (bucket, key, sequencer, op)
// always gives the same ID, so a resent notification carries the ID of the original.
func ID(bucket, key, normalizedSequencer, op string) string {
	h := sha256.New()
	for _, part := range []string{bucket, key, normalizedSequencer, op} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// PartitionKey is the Kinesis partition key of an event: bucket + "/" + key when that fits the
// Kinesis limit, otherwise a fixed-width hash of it. Either way one object always maps to one
// partition key, hence one shard.
func PartitionKey(bucket, key string) string {
	pk := bucket + "/" + key
	if len(pk) <= MaxPartitionKeyLen {
		return pk
	}
	sum := sha256.Sum256([]byte(pk))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// ObjectID is the ledger key of an object: bucket + "/" + key.
func (e Event) ObjectID() string { return e.Bucket + "/" + e.Key }

// PartitionKey returns PartitionKey(e.Bucket, e.Key).
func (e Event) PartitionKey() string { return PartitionKey(e.Bucket, e.Key) }

// Validate checks every field a worker relies on.
func (e Event) Validate() error {
	if e.V != Version {
		return &VersionError{Got: e.V}
	}
	switch {
	case e.Bucket == "":
		return &FieldError{Field: "bucket", Reason: "empty"}
	case len(e.Bucket) > MaxBucketLen:
		return &FieldError{Field: "bucket", Reason: fmt.Sprintf("longer than %d bytes", MaxBucketLen)}
	case e.Key == "":
		return &FieldError{Field: "key", Reason: "empty"}
	case len(e.Key) > MaxKeyLen:
		return &FieldError{Field: "key", Reason: fmt.Sprintf("longer than %d bytes", MaxKeyLen)}
	case e.Op != OpPut && e.Op != OpDelete:
		return &FieldError{Field: "op", Reason: fmt.Sprintf("%q is neither %q nor %q", clip(e.Op), OpPut, OpDelete)}
	case e.Size < 0:
		return &FieldError{Field: "size", Reason: fmt.Sprintf("%d is negative", e.Size)}
	}
	for _, f := range [...]struct{ name, value string }{
		{"source", e.Source}, {"eventName", e.EventName}, {"etag", e.ETag}, {"versionId", e.VersionID},
	} {
		if len(f.value) > MaxFieldLen {
			return &FieldError{Field: f.name, Reason: fmt.Sprintf("longer than %d bytes", MaxFieldLen)}
		}
	}
	seq, err := sequencer.Normalize(e.Sequencer)
	if err != nil {
		return &FieldError{Field: "sequencer", Reason: err.Error()}
	}
	if seq != e.Sequencer {
		return &FieldError{Field: "sequencer", Reason: "not normalised"}
	}
	if want := ID(e.Bucket, e.Key, e.Sequencer, e.Op); e.ID != want {
		return &FieldError{Field: "id", Reason: "does not match bucket, key, sequencer and op"}
	}
	return nil
}

// Encode returns the wire form of a valid event, at most MaxEncodedLen bytes.
func Encode(e Event) ([]byte, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	data, err := json.Marshal(e)
	if err != nil {
		return nil, &FieldError{Field: "(body)", Reason: err.Error()}
	}
	if len(data) > MaxEncodedLen {
		// Unreachable while the field limits hold; kept so the bound is a guarantee.
		return nil, &FieldError{Field: "(body)", Reason: fmt.Sprintf("encodes to %d bytes, more than %d", len(data), MaxEncodedLen)}
	}
	return data, nil
}

// Decode parses and validates one wire-form event. Every failure wraps ErrInvalid; an unknown
// schema version is a *VersionError.
func Decode(data []byte) (Event, error) {
	// One pass in the common case: the outer V shadows Event's (a shallower field wins), so a
	// missing "v" is told apart from any value. A body that does not parse is parsed again for
	// "v" alone, so that an unknown version is reported as such whatever else it carries.
	var w struct {
		V *int `json:"v"`
		Event
	}
	if err := json.Unmarshal(data, &w); err == nil {
		if w.V == nil {
			return Event{}, &FieldError{Field: "v", Reason: "missing"}
		}
		if *w.V != Version {
			return Event{}, &VersionError{Got: *w.V}
		}
		e := w.Event
		e.V = *w.V
		return e, e.Validate()
	}
	return decodeSlow(data)
}

// decodeSlow is Decode's classification of a body that does not parse as an Event: not JSON, no
// "v", an unknown version, or a field of the wrong type.
func decodeSlow(data []byte) (Event, error) {
	var probe struct {
		V *int `json:"v"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return Event{}, &FieldError{Field: "(body)", Reason: "not a JSON object: " + err.Error()}
	}
	if probe.V == nil {
		return Event{}, &FieldError{Field: "v", Reason: "missing"}
	}
	if *probe.V != Version {
		return Event{}, &VersionError{Got: *probe.V}
	}
	var e Event
	if err := json.Unmarshal(data, &e); err != nil {
		return Event{}, &FieldError{Field: "(body)", Reason: err.Error()}
	}
	return e, e.Validate()
}
