package notification

import (
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/shardline/shardline/internal/envelope"
)

// parser accumulates the outcome of one Parse call across nested messages.
type parser struct {
	res Result
}

func (p *parser) outcomes() int { return len(p.res.Events) + len(p.res.Skipped) }

func (p *parser) event(ev envelope.Event) { p.res.Events = append(p.res.Events, ev) }

// skip records a skipped record; where locates it in the body (may be empty).
func (p *parser) skip(reason, where, msg string) {
	detail := msg
	if where != "" {
		detail = where + ": " + msg
	}
	p.res.Skipped = append(p.res.Skipped, Skip{Reason: reason, Detail: detail})
}

// join appends a path segment.
func join(path, seg string) string {
	if path == "" {
		return seg
	}
	return path + "." + seg
}

// message parses one JSON notification found at path, depth wrappers deep, detecting its shape by
// structure. It returns an error only for a message that is not a notification (a
// *MalformedError, which a wrapper turns into a skip) or for an exceeded guard (a *LimitError,
// which refuses the whole body).
func (p *parser) message(data []byte, path string, depth int) error {
	if depth > MaxDepth {
		return &LimitError{Path: path, Limit: LimitDepth, Max: MaxDepth}
	}
	// A map keeps the shape detection exact: encoding/json matches struct fields
	// case-insensitively, and the shapes differ in case only ("Time"/"time", "Key"/"key").
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return &MalformedError{Path: path, Reason: "not a JSON object (got " + typeErr.Value + ")"}
		}
		return &MalformedError{Path: path, Reason: "not JSON", Err: err}
	}
	if top == nil {
		return &MalformedError{Path: path, Reason: "not a JSON object (got null)"}
	}
	switch {
	case top["Records"] != nil:
		// S3 event notification, MinIO webhook body, Lambda SQS or SNS event.
		return p.records(top["Records"], path, depth)
	case top["Event"] != nil:
		return p.testEvent(top, path)
	case top["detail-type"] != nil:
		p.eventBridge(data, path)
		return nil
	case top["Type"] != nil && top["Message"] != nil:
		return p.snsEnvelope(top, path, depth)
	}
	return &MalformedError{Path: path, Reason: "object matches no known notification shape (keys " + describeKeys(top) + ")"}
}

// describeKeys lists a few of an object's keys, bounded so hostile input cannot bloat errors.
func describeKeys(m map[string]json.RawMessage) string {
	const maxKeys = 6
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	more := len(keys) > maxKeys
	if more {
		keys = keys[:maxKeys]
	}
	for i, k := range keys {
		keys[i] = strconv.Quote(clip(k))
	}
	s := "[" + strings.Join(keys, " ")
	if more {
		s += " …"
	}
	return s + "]"
}

// record is the union of the Records elements Parse understands: an S3 (or S3-compatible) event
// record, a Lambda SQS record, a Lambda SNS record. encoding/json matches field names
// case-insensitively, so EventSource also reads the SNS record's "EventSource".
type record struct {
	EventSource  string    `json:"eventSource"`
	EventVersion string    `json:"eventVersion"`
	EventName    string    `json:"eventName"`
	EventTime    string    `json:"eventTime"`
	S3           *s3Entity `json:"s3"`
	Body         *string   `json:"body"` // SQS
	SNS          *struct {
		Message *string `json:"Message"`
	} `json:"Sns"` // Lambda SNS
}

func (p *parser) records(raw json.RawMessage, path string, depth int) error {
	var elems []json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil || elems == nil {
		return &MalformedError{Path: join(path, "Records"), Reason: "not a JSON array"}
	}
	if len(elems) > MaxRecords {
		return &LimitError{Path: join(path, "Records"), Limit: LimitRecords, Max: MaxRecords}
	}
	if len(elems) == 0 {
		p.skip(ReasonEmptyNotification, path, "Records is empty")
		return nil
	}
	for i, elem := range elems {
		where := join(path, "Records["+strconv.Itoa(i)+"]")
		if err := p.record(elem, where, depth); err != nil {
			return err
		}
		if p.outcomes() > MaxRecords {
			return &LimitError{Path: where, Limit: LimitRecords, Max: MaxRecords}
		}
	}
	return nil
}

func (p *parser) record(elem json.RawMessage, where string, depth int) error {
	var rec record
	if err := json.Unmarshal(elem, &rec); err != nil {
		p.skip(ReasonInvalidRecord, where, "cannot decode record: "+err.Error())
		return nil
	}
	switch {
	case rec.EventSource == "aws:sqs":
		if rec.Body == nil {
			p.skip(ReasonInvalidRecord, where, "SQS record without a string body")
			return nil
		}
		return p.wrapped([]byte(*rec.Body), join(where, "body"), depth)
	case rec.EventSource == "aws:sns":
		if rec.SNS == nil || rec.SNS.Message == nil {
			p.skip(ReasonInvalidRecord, where, "SNS record without a string Sns.Message")
			return nil
		}
		return p.wrapped([]byte(*rec.SNS.Message), join(where, "Sns.Message"), depth)
	case rec.S3 != nil:
		p.s3Record(&rec, where)
		return nil
	}
	p.skip(ReasonInvalidRecord, where, "record is neither an S3, SQS nor SNS record (eventSource "+strconv.Quote(clip(rec.EventSource))+")")
	return nil
}

// wrapped parses a message carried inside a wrapper. A message that is not a notification is
// skipped, so one bad message does not make the source redeliver its whole batch; an exceeded
// guard refuses the whole body.
func (p *parser) wrapped(data []byte, path string, depth int) error {
	err := p.message(data, path, depth+1)
	var mal *MalformedError
	if errors.As(err, &mal) {
		p.skip(ReasonMalformedBody, "", err.Error())
		return nil
	}
	return err
}

// testEvent handles {"Service":"Amazon S3","Event":"s3:TestEvent",...}.
func (p *parser) testEvent(top map[string]json.RawMessage, path string) error {
	var name string
	if err := json.Unmarshal(top["Event"], &name); err != nil || name != "s3:TestEvent" {
		return &MalformedError{Path: join(path, "Event"), Reason: "not s3:TestEvent"}
	}
	var bucket string
	_ = json.Unmarshal(top["Bucket"], &bucket) // informational only
	p.skip(ReasonTestEvent, path, "s3:TestEvent for bucket "+strconv.Quote(clip(bucket)))
	return nil
}

// snsEnvelope handles the SNS message as an SQS queue subscribed to a topic receives it (without
// raw message delivery): {"Type":"Notification","MessageId":...,"Message":"<json>",...}.
func (p *parser) snsEnvelope(top map[string]json.RawMessage, path string, depth int) error {
	var typ string
	if err := json.Unmarshal(top["Type"], &typ); err != nil {
		return &MalformedError{Path: join(path, "Type"), Reason: "not a string"}
	}
	switch typ {
	case "Notification":
	case "SubscriptionConfirmation", "UnsubscribeConfirmation":
		p.skip(ReasonNotObjectEvent, path, "SNS "+typ+" message")
		return nil
	default:
		return &MalformedError{Path: join(path, "Type"), Reason: "unknown SNS message type " + strconv.Quote(clip(typ))}
	}
	var msg string
	if err := json.Unmarshal(top["Message"], &msg); err != nil {
		return &MalformedError{Path: join(path, "Message"), Reason: "not a string"}
	}
	return p.wrapped([]byte(msg), join(path, "Message"), depth)
}

// clip bounds an attacker-controlled string before it goes into a Detail or error, cutting at a
// rune boundary.
func clip(s string) string { return clipN(s, 64) }

// clipN is clip with a chosen limit in bytes.
func clipN(s string, maxLen int) string {
	if len(s) <= maxLen {
		return s
	}
	n := maxLen
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
