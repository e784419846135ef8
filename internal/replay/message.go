package replay

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Formats of a failure-queue message (Message.Format).
const (
	// FormatInvocationRecord: a Lambda asynchronous invocation record (on-failure destination);
	// the notification is its requestPayload.
	FormatInvocationRecord = "invocationRecord"
	// FormatEvent: the body is the notification itself (EventBridge dead letter, Lambda DLQ).
	FormatEvent = "event"
)

// ErrNotFailure is wrapped by the error Unwrap returns for a body that is neither an invocation
// record nor a JSON object.
var ErrNotFailure = errors.New("not a failed invocation")

// Failure is what a failure-queue message carries.
type Failure struct {
	// Payload is the notification the forwarder failed on, as the Lambda received it.
	Payload []byte
	// Format is FormatInvocationRecord or FormatEvent.
	Format string
	// Condition is why Lambda gave up (requestContext.condition, e.g. RetriesExhausted), or
	// empty when the record does not say.
	Condition string
}

// invocationRecord is the part of an asynchronous invocation record Unwrap reads.
type invocationRecord struct {
	RequestContext *struct {
		Condition string `json:"condition"`
	} `json:"requestContext"`
	RequestPayload json.RawMessage `json:"requestPayload"`
}

// Unwrap returns the notification a failure-queue message body carries. A JSON object with a
// requestContext or requestPayload member is an invocation record, which must have a
// requestPayload that is a JSON object; any other JSON object is the notification itself. It
// returns an error wrapping ErrNotFailure for anything else (Forward judges the payload).
func Unwrap(body []byte) (Failure, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil || top == nil {
		return Failure{}, fmt.Errorf("%w: the body is not a JSON object", ErrNotFailure)
	}
	if top["requestContext"] == nil && top["requestPayload"] == nil {
		return Failure{Payload: body, Format: FormatEvent}, nil
	}
	var rec invocationRecord
	if err := json.Unmarshal(body, &rec); err != nil {
		return Failure{}, fmt.Errorf("%w: invocation record: %v", ErrNotFailure, err)
	}
	f := Failure{Format: FormatInvocationRecord}
	if rec.RequestContext != nil {
		f.Condition = rec.RequestContext.Condition
	}
	p := bytes.TrimSpace(rec.RequestPayload)
	if len(p) == 0 || p[0] != '{' {
		return f, fmt.Errorf("%w: invocation record without a requestPayload object", ErrNotFailure)
	}
	f.Payload = p
	return f, nil
}
