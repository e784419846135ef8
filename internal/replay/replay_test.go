package replay

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/shardline/shardline/internal/forwarder"
	"github.com/shardline/shardline/internal/notification"
)

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestUnwrap(t *testing.T) {
	tests := []struct {
		name          string
		body          []byte
		wantFormat    string
		wantCondition string
		wantPayload   string // a substring of the payload
		wantErr       bool
	}{
		{name: "invocation record", body: readTestdata(t, "invocation_record.json"),
			wantFormat: FormatInvocationRecord, wantCondition: "RetriesExhausted", wantPayload: `"sequencer": "0055AED6DCD90281E5"`},
		{name: "EventBridge dead letter", body: readTestdata(t, "eventbridge_dead_letter.json"),
			wantFormat: FormatEvent, wantPayload: `"detail-type": "Object Created"`},
		{name: "invocation record without payload", body: readTestdata(t, "invocation_record_no_payload.json"),
			wantFormat: FormatInvocationRecord, wantCondition: "EventAgeExceeded", wantErr: true},
		{name: "payload is not an object", body: []byte(`{"requestContext":{},"requestPayload":"x"}`),
			wantFormat: FormatInvocationRecord, wantErr: true},
		{name: "payload null", body: []byte(`{"requestPayload":null}`), wantFormat: FormatInvocationRecord, wantErr: true},
		{name: "not JSON", body: []byte(`Records`), wantErr: true},
		{name: "JSON array", body: []byte(`[{}]`), wantErr: true},
		{name: "JSON null", body: []byte(`null`), wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Unwrap(tc.body)
			if tc.wantErr != (err != nil) {
				t.Fatalf("Unwrap error %v, want error %v", err, tc.wantErr)
			}
			if err != nil && !errors.Is(err, ErrNotFailure) {
				t.Errorf("error %v does not wrap ErrNotFailure", err)
			}
			if f.Format != tc.wantFormat || f.Condition != tc.wantCondition {
				t.Errorf("format %q condition %q, want %q %q", f.Format, f.Condition, tc.wantFormat, tc.wantCondition)
			}
			if !strings.Contains(string(f.Payload), tc.wantPayload) {
				t.Errorf("payload %s does not contain %s", f.Payload, tc.wantPayload)
			}
			if err == nil {
				if _, perr := notification.Parse(f.Payload); perr != nil {
					t.Errorf("payload does not parse as a notification: %v", perr)
				}
			}
		})
	}
}

// fakeQueue is an SQS queue in memory: a received message is hidden until deleted or released.
type fakeQueue struct {
	mu        sync.Mutex
	messages  []sqstypes.Message
	hidden    map[string]bool
	deleted   []string
	deleteErr error
	released  int
	receives  int
}

func newFakeQueue(bodies ...string) *fakeQueue {
	q := &fakeQueue{hidden: map[string]bool{}}
	for i, b := range bodies {
		id := fmt.Sprintf("m%d", i)
		q.messages = append(q.messages, sqstypes.Message{MessageId: aws.String(id), ReceiptHandle: aws.String("rh-" + id), Body: aws.String(b)})
	}
	return q
}

func (q *fakeQueue) ReceiveMessage(_ context.Context, in *sqs.ReceiveMessageInput, _ ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.receives++
	if in.WaitTimeSeconds != 20 {
		return nil, fmt.Errorf("WaitTimeSeconds %d, want long polling (20)", in.WaitTimeSeconds)
	}
	out := &sqs.ReceiveMessageOutput{}
	for _, m := range q.messages {
		if len(out.Messages) == int(in.MaxNumberOfMessages) {
			break
		}
		if id := aws.ToString(m.MessageId); !q.hidden[id] {
			q.hidden[id] = true
			out.Messages = append(out.Messages, m)
		}
	}
	return out, nil
}

func (q *fakeQueue) DeleteMessage(_ context.Context, in *sqs.DeleteMessageInput, _ ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.deleteErr != nil {
		return nil, q.deleteErr
	}
	id := strings.TrimPrefix(aws.ToString(in.ReceiptHandle), "rh-")
	q.deleted = append(q.deleted, id)
	for i, m := range q.messages {
		if aws.ToString(m.MessageId) == id {
			q.messages = append(q.messages[:i], q.messages[i+1:]...)
			break
		}
	}
	return &sqs.DeleteMessageOutput{}, nil
}

func (q *fakeQueue) ChangeMessageVisibility(_ context.Context, in *sqs.ChangeMessageVisibilityInput, _ ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.hidden, strings.TrimPrefix(aws.ToString(in.ReceiptHandle), "rh-"))
	q.released++
	return &sqs.ChangeMessageVisibilityOutput{}, nil
}

// fakeForwarder answers Forward from the payload: {"case": name} selects the outcome.
type fakeForwarder struct{ calls int }

var errKinesis = &forwarder.NotForwardedError{Failed: 1, Total: 2, Err: errors.New("ResourceNotFoundException")}

func (f *fakeForwarder) Forward(_ context.Context, payload []byte) (forwarder.Delivery, error) {
	f.calls++
	var p struct{ Case string }
	_ = json.Unmarshal(payload, &p)
	switch p.Case {
	case "ok":
		return forwarder.Delivery{Events: 2, Forwarded: 2}, nil
	case "skips only":
		return forwarder.Delivery{Skipped: 1}, nil
	case "refused":
		return forwarder.Delivery{Events: 2, Forwarded: 1, Refused: 1}, nil
	case "kinesis":
		return forwarder.Delivery{Events: 2, Forwarded: 1}, errKinesis
	case "invalid event":
		return forwarder.Delivery{Events: 1}, fmt.Errorf("forward 1 events: %w", errors.New("envelope: invalid op"))
	case "short":
		return forwarder.Delivery{Events: 2, Forwarded: 1}, nil
	}
	return forwarder.Delivery{}, fmt.Errorf("parse notification: %w", notification.ErrMalformed)
}

func record(c string) string {
	return `{"requestContext":{"condition":"RetriesExhausted"},"requestPayload":{"case":"` + c + `"}}`
}

// TestRunDeletesOnlyWhatIsInTheStream: a message is deleted only when every event of it that is
// work is in the stream; every other outcome leaves it in the queue and says why.
func TestRunDeletesOnlyWhatIsInTheStream(t *testing.T) {
	tests := []struct {
		name        string
		body        string
		deleteErr   error
		wantDeleted bool
		wantErr     error // from Run
		wantStopped string
		wantSay     string // in Message.Error
	}{
		{name: "all events in", body: record("ok"), wantDeleted: true},
		{name: "EventBridge dead letter, all in", body: `{"case":"ok","detail-type":"Object Created"}`, wantDeleted: true},
		{name: "only skips (test event)", body: record("skips only"), wantDeleted: true},
		{name: "Kinesis did not take them", body: record("kinesis"), wantErr: forwarder.ErrNotForwarded,
			wantStopped: StoppedForwardFailed, wantSay: "ResourceNotFoundException"},
		{name: "an event refused", body: record("refused"), wantSay: "1 of 2 events refused"},
		{name: "an event that can never be put", body: record("invalid event"), wantSay: "invalid op"},
		{name: "fewer forwarded than events", body: record("short"), wantSay: "only 1 of 2"},
		{name: "payload not a notification", body: record("garbage"), wantSay: "malformed notification"},
		{name: "body not JSON", body: `hello`, wantSay: "not a JSON object"},
		{name: "record without payload", body: `{"requestContext":{"condition":"EventAgeExceeded"}}`, wantSay: "without a requestPayload"},
		{name: "in the stream but the delete failed", body: record("ok"), deleteErr: errors.New("ReceiptHandleIsInvalid"),
			wantSay: "not deleted"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := newFakeQueue(tc.body)
			q.deleteErr = tc.deleteErr
			res, err := Run(t.Context(), Config{Queue: q, QueueURL: "q", Forwarder: &fakeForwarder{}})
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("Run error %v, want %v", err, tc.wantErr)
			}
			if want := cmp.Or(tc.wantStopped, StoppedEmpty); res.Stopped != want {
				t.Errorf("stopped %q, want %q", res.Stopped, want)
			}
			if len(res.Messages) != 1 {
				t.Fatalf("%d messages in the result, want 1", len(res.Messages))
			}
			m := res.Messages[0]
			if deleted := len(q.deleted) == 1; deleted != tc.wantDeleted || m.Deleted != tc.wantDeleted {
				t.Fatalf("queue deleted %v, result says %v, want %v (%+v)", q.deleted, m.Deleted, tc.wantDeleted, m)
			}
			if !strings.Contains(m.Error, tc.wantSay) || (tc.wantSay == "") != (m.Error == "") {
				t.Errorf("error %q, want it to say %q", m.Error, tc.wantSay)
			}
			kept := 0
			if !m.Deleted {
				kept = 1
			}
			if res.Received != 1 || res.Deleted != len(q.deleted) || res.Kept != kept {
				t.Errorf("progress %+v, want 1 received, %d deleted, %d kept", res.Progress, len(q.deleted), kept)
			}
		})
	}
}

// TestRunStopsAtKinesisFailure: after a message Kinesis did not take, no further message is
// received or forwarded: every one would fail the same way.
func TestRunStopsAtKinesisFailure(t *testing.T) {
	q := newFakeQueue(record("ok"), record("kinesis"), record("ok"), record("ok"))
	fwd := &fakeForwarder{}
	res, err := Run(t.Context(), Config{Queue: q, QueueURL: "q", Forwarder: fwd, MaxMessages: 0})
	if !errors.Is(err, forwarder.ErrNotForwarded) || res.Stopped != StoppedForwardFailed {
		t.Fatalf("Run: %v, stopped %q", err, res.Stopped)
	}
	if fwd.calls != 2 || len(q.deleted) != 1 || q.deleted[0] != "m0" {
		t.Fatalf("%d forwards, deleted %v; want 2 forwards and m0 deleted only", fwd.calls, q.deleted)
	}
	if res.Received != 2 || res.Replayed != 1 || res.Deleted != 1 || res.Kept != 1 {
		t.Errorf("progress %+v", res.Progress)
	}
}

func TestRunMaxMessages(t *testing.T) {
	q := newFakeQueue(record("ok"), record("ok"), record("ok"))
	var progress []Progress
	res, err := Run(t.Context(), Config{Queue: q, QueueURL: "q", Forwarder: &fakeForwarder{}, MaxMessages: 2,
		OnMessage: func(p Progress) { progress = append(progress, p) }})
	if err != nil || res.Stopped != StoppedMaxMessages || res.Received != 2 || len(q.deleted) != 2 {
		t.Fatalf("Run: %v, %+v, deleted %v", err, res, q.deleted)
	}
	if len(progress) != 2 || progress[1].Deleted != 2 {
		t.Errorf("progress calls %+v", progress)
	}
}

// TestRunDryRun: nothing deleted, every received message made visible again.
func TestRunDryRun(t *testing.T) {
	q := newFakeQueue(record("ok"), record("refused"), `hello`)
	res, err := Run(t.Context(), Config{Queue: q, QueueURL: "q", Forwarder: &fakeForwarder{}, DryRun: true})
	if err != nil || res.Stopped != StoppedEmpty || !res.DryRun {
		t.Fatalf("Run: %v, %+v", err, res)
	}
	if len(q.deleted) != 0 || q.released != 3 || len(q.hidden) != 0 {
		t.Fatalf("deleted %v, released %d, still hidden %v", q.deleted, q.released, q.hidden)
	}
	if res.Received != 3 || res.Replayed != 1 || res.Deleted != 0 || res.Kept != 0 {
		t.Errorf("progress %+v", res.Progress)
	}
}

func TestRunInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	res, err := Run(ctx, Config{Queue: newFakeQueue(record("ok")), QueueURL: "q", Forwarder: &fakeForwarder{}})
	if err != nil || res.Stopped != StoppedInterrupted || res.Received != 0 {
		t.Fatalf("Run: %v, %+v", err, res)
	}
}

func TestConfigValidate(t *testing.T) {
	ok := Config{Queue: newFakeQueue(), QueueURL: "q", Forwarder: &fakeForwarder{}}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, adjust := range map[string]func(*Config){
		"no queue":            func(c *Config) { c.Queue = nil },
		"no URL":              func(c *Config) { c.QueueURL = "" },
		"no forwarder":        func(c *Config) { c.Forwarder = nil },
		"negative max":        func(c *Config) { c.MaxMessages = -1 },
		"wait over 20s":       func(c *Config) { c.WaitTime = 21e9 },
		"negative visibility": func(c *Config) { c.VisibilityTimeout = -1 },
	} {
		c := ok
		adjust(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
