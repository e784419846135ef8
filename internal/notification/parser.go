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
	// Only these members decide the shape. Names are matched exactly: encoding/json matches
	// struct fields case-insensitively, and the shapes differ in case only ("Time"/"time",
	// "Key"/"key").
	var top shapeMembers
	if !members(data, top.set) {
		return notAnObject(data, path)
	}
	switch {
	case top[memberRecords] != nil:
		// S3 event notification, MinIO webhook body, Lambda SQS or SNS event.
		return p.records(top[memberRecords], path, depth)
	case top[memberEvent] != nil:
		return p.testEvent(&top, path)
	case top[memberDetailType] != nil:
		p.eventBridge(data, path)
		return nil
	case top[memberType] != nil && top[memberMessage] != nil:
		return p.snsEnvelope(&top, path, depth)
	}
	return &MalformedError{Path: path, Reason: "object matches no known notification shape (keys " + describeKeys(data) + ")"}
}

// The top-level members of a message that decide its shape, by index into shapeMembers.
const (
	memberRecords = iota
	memberEvent
	memberBucket
	memberDetailType
	memberType
	memberMessage
	shapeMemberCount
)

// shapeMemberNames are the names of the shape members, by index.
var shapeMemberNames = [shapeMemberCount]string{"Records", "Event", "Bucket", "detail-type", "Type", "Message"}

// shapeMembers are a message's shape members as slices of the body; nil when absent (a JSON null
// is present: it is "null").
type shapeMembers [shapeMemberCount][]byte

func (m *shapeMembers) set(name, value []byte) {
	for i, n := range shapeMemberNames {
		if string(name) == n {
			m[i] = value
			return
		}
	}
}

// notAnObject says why data, which members refused, is not a JSON object.
func notAnObject(data []byte, path string) error {
	var top map[string]json.RawMessage
	err := json.Unmarshal(data, &top)
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &typeErr):
		return &MalformedError{Path: path, Reason: "not a JSON object (got " + typeErr.Value + ")"}
	case err != nil:
		return &MalformedError{Path: path, Reason: "not JSON", Err: err}
	case top == nil:
		return &MalformedError{Path: path, Reason: "not a JSON object (got null)"}
	}
	return &MalformedError{Path: path, Reason: "not a JSON object"}
}

// describeKeys lists a few of the keys of the object data, bounded so hostile input cannot bloat
// errors.
func describeKeys(data []byte) string {
	const maxKeys = 6
	var keys []string
	members(data, func(name, _ []byte) {
		keys = append(keys, string(name))
	})
	slices.Sort(keys)
	keys = slices.Compact(keys)
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

// records handles the Records member raw of the message at path. Parse returns no events with an
// error, so a body over MaxRecords is refused when its record MaxRecords+1 is reached, as if the
// array had been counted first.
func (p *parser) records(raw []byte, path string, depth int) error {
	var (
		n   int
		err error
	)
	isArray := elements(raw, func(i int, elem []byte) bool {
		if n = i + 1; n > MaxRecords {
			err = &LimitError{Path: join(path, "Records"), Limit: LimitRecords, Max: MaxRecords}
			return false
		}
		where := join(path, "Records["+strconv.Itoa(i)+"]")
		if err = p.record(elem, where, depth); err == nil && p.outcomes() > MaxRecords {
			err = &LimitError{Path: where, Limit: LimitRecords, Max: MaxRecords}
		}
		return err == nil
	})
	switch {
	case !isArray:
		return &MalformedError{Path: join(path, "Records"), Reason: "not a JSON array"}
	case err != nil:
		return err
	case n == 0:
		p.skip(ReasonEmptyNotification, path, "Records is empty")
	}
	return nil
}

func (p *parser) record(elem []byte, where string, depth int) error {
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
func (p *parser) testEvent(top *shapeMembers, path string) error {
	var name string
	if err := json.Unmarshal(top[memberEvent], &name); err != nil || name != "s3:TestEvent" {
		return &MalformedError{Path: join(path, "Event"), Reason: "not s3:TestEvent"}
	}
	var bucket string
	_ = json.Unmarshal(top[memberBucket], &bucket) // informational only
	p.skip(ReasonTestEvent, path, "s3:TestEvent for bucket "+strconv.Quote(clip(bucket)))
	return nil
}

// snsEnvelope handles the SNS message as an SQS queue subscribed to a topic receives it (without
// raw message delivery): {"Type":"Notification","MessageId":...,"Message":"<json>",...}.
func (p *parser) snsEnvelope(top *shapeMembers, path string, depth int) error {
	var typ string
	if err := json.Unmarshal(top[memberType], &typ); err != nil {
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
	if err := json.Unmarshal(top[memberMessage], &msg); err != nil {
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
