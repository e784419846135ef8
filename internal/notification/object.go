package notification

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/shardline/shardline/internal/envelope"
)

// object holds one object event's fields as found on the wire, after key decoding.
type object struct {
	source, eventName, bucket, key, op string
	sequencer, etag, versionID         string
	size                               json.Number
	eventTime                          string
}

// build validates an object event and records it as an event or, with the reason, as a skip.
func (p *parser) build(where string, o *object) {
	ref := strconv.Quote(clipN(o.bucket+"/"+o.key, 2*envelope.MaxKeyLen))
	switch {
	case o.bucket == "":
		p.skip(ReasonInvalidRecord, where, "empty bucket name")
		return
	case o.key == "":
		p.skip(ReasonInvalidRecord, where, "empty object key")
		return
	case len(o.key) > envelope.MaxKeyLen:
		p.skip(ReasonInvalidRecord, where, fmt.Sprintf("%s: key longer than %d bytes", ref, envelope.MaxKeyLen))
		return
	case o.sequencer == "":
		p.skip(ReasonNoSequencer, where, ref+": no sequencer ("+o.eventName+")")
		return
	}
	eventTime, err := parseEventTime(o.eventTime)
	if err != nil {
		p.skip(ReasonInvalidRecord, where, ref+": "+err.Error())
		return
	}
	size, err := parseSize(o.size)
	if err != nil {
		p.skip(ReasonInvalidRecord, where, ref+": "+err.Error())
		return
	}
	ev, err := envelope.New(o.source, o.eventName, o.bucket, o.key, o.op, o.sequencer,
		unquote(o.etag), o.versionID, size, eventTime)
	if err != nil {
		reason := ReasonInvalidRecord
		var fe *envelope.FieldError
		if errors.As(err, &fe) && fe.Field == "sequencer" {
			reason = ReasonInvalidSequencer
		}
		p.skip(reason, where, ref+": "+err.Error())
		return
	}
	p.event(ev)
}

// parseEventTime reads an RFC 3339 event time; an absent one is the zero time.
func parseEventTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("event time %q is not RFC 3339", clip(s))
	}
	// The envelope carries the time in UTC and JSON can only encode years 0 to 9999.
	if y := t.UTC().Year(); y < 1 || y > 9999 {
		return time.Time{}, fmt.Errorf("event time %q out of range", clip(s))
	}
	return t, nil
}

// parseSize reads an object size; an absent one (deletes carry none) is 0.
func parseSize(n json.Number) (int64, error) {
	if n == "" {
		return 0, nil
	}
	v, err := strconv.ParseInt(string(n), 10, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("size %s is not a non-negative integer", clip(string(n)))
	}
	return v, nil
}

// unquote strips the double quotes some producers leave around an ETag.
func unquote(etag string) string {
	if len(etag) >= 2 && etag[0] == '"' && etag[len(etag)-1] == '"' {
		return etag[1 : len(etag)-1]
	}
	return etag
}
