package forwarder

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/shardline/shardline/internal/envelope"
	"github.com/shardline/shardline/internal/notification"
)

// putRecordsFunc answers a fakeKinesis's PutRecords call number call (from 0).
type putRecordsFunc func(call int, in *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error)

// fakeKinesis records every PutRecords call and answers with respond (nil: accept everything).
type fakeKinesis struct {
	mu      sync.Mutex
	calls   []*kinesis.PutRecordsInput
	respond putRecordsFunc
}

func (f *fakeKinesis) PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, _ ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cp := *in
	cp.Records = append([]types.PutRecordsRequestEntry(nil), in.Records...)
	f.calls = append(f.calls, &cp)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if f.respond == nil {
		return accept(in), nil
	}
	return f.respond(len(f.calls)-1, &cp)
}

// sent returns the calls made so far.
func (f *fakeKinesis) sent() []*kinesis.PutRecordsInput {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*kinesis.PutRecordsInput(nil), f.calls...)
}

// accept answers in with every record accepted.
func accept(in *kinesis.PutRecordsInput) *kinesis.PutRecordsOutput {
	return refuse(in, nil)
}

// refuse answers in with the records at the indexes in codes refused with that error code.
func refuse(in *kinesis.PutRecordsInput, codes map[int]string) *kinesis.PutRecordsOutput {
	out := &kinesis.PutRecordsOutput{Records: make([]types.PutRecordsResultEntry, len(in.Records))}
	for i := range in.Records {
		if code, ok := codes[i]; ok {
			out.Records[i] = types.PutRecordsResultEntry{ErrorCode: aws.String(code), ErrorMessage: aws.String("refused by test")}
			continue
		}
		out.Records[i] = types.PutRecordsResultEntry{ShardId: aws.String("shardId-000000000000"), SequenceNumber: aws.String(fmt.Sprint(i))}
	}
	out.FailedRecordCount = aws.Int32(int32(len(codes)))
	return out
}

// fakeClock is a clock that only moves when Sleep is called, recording each wait.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
	onWait func() // called inside Sleep, e.g. to cancel a context
}

var clockStart = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func newFakeClock() *fakeClock { return &fakeClock{now: clockStart} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	onWait := c.onWait
	c.mu.Unlock()
	if onWait != nil {
		onWait()
	}
	return ctx.Err()
}

func (c *fakeClock) waits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

// testLogger logs to the test's output, shown only when the test fails or with -v.
func testLogger(t *testing.T) *slog.Logger {
	t.Helper()
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// newTestWriter returns a Writer on a fresh registry with a fake clock; adjust tweaks the config.
func newTestWriter(t *testing.T, kin Kinesis, adjust func(*WriterConfig)) (*Writer, *prometheus.Registry, *fakeClock) {
	t.Helper()
	reg := prometheus.NewRegistry()
	clock := newFakeClock()
	cfg := WriterConfig{
		Client:     kin,
		StreamName: "shardline-test",
		Registerer: reg,
		Logger:     testLogger(t),
		Now:        clock.Now,
		Sleep:      clock.Sleep,
	}
	if adjust != nil {
		adjust(&cfg)
	}
	w, err := NewWriter(cfg)
	if err != nil {
		t.Fatalf("NewWriter: %v", err)
	}
	return w, reg, clock
}

// testEvent returns a valid put event for bucket "in-bucket" and key.
func testEvent(t testing.TB, key string, seq int) envelope.Event {
	t.Helper()
	ev, err := envelope.New("aws:s3", "ObjectCreated:Put", "in-bucket", key, envelope.OpPut,
		fmt.Sprintf("%016X", seq+1), "etag", "", 42, clockStart.Add(-time.Minute))
	if err != nil {
		t.Fatalf("envelope.New: %v", err)
	}
	return ev
}

// testEvents returns n events with distinct keys.
func testEvents(t testing.TB, n int) []envelope.Event {
	t.Helper()
	evs := make([]envelope.Event, n)
	for i := range evs {
		evs[i] = testEvent(t, fmt.Sprintf("photos/%05d.jpg", i), i)
	}
	return evs
}

// sizedEvent returns an event whose record (data plus partition key, as the Writer will encode
// it at clockStart) is exactly size bytes, padded through the free-text fields within
// envelope.MaxFieldLen ('<', which JSON escapes as six bytes, and ASCII). The largest it can
// make is about 25 KiB: the field limits keep every envelope far below a Kinesis record.
func sizedEvent(t testing.TB, key string, size int) envelope.Event {
	t.Helper()
	ev := testEvent(t, key, 1)
	ev.VersionID = "v"
	measure := func() int {
		probe := ev
		probe.ForwardedAt = clockStart
		data, err := envelope.Encode(probe)
		if err != nil {
			t.Fatalf("Encode: %v", err)
		}
		return len(data) + len(ev.PartitionKey())
	}
	need := size - measure()
	if need < 0 {
		t.Fatalf("size %d too small", size)
	}
	for _, f := range []*string{&ev.VersionID, &ev.ETag, &ev.EventName, &ev.Source} {
		room := envelope.MaxFieldLen - len(*f)
		n6 := min(need/6, room)
		n1 := min(need-6*n6, room-n6)
		*f += strings.Repeat("<", n6) + strings.Repeat("v", n1)
		need -= 6*n6 + n1
	}
	if got := measure(); need != 0 || got != size {
		t.Fatalf("cannot make a %d-byte record (got %d)", size, got)
	}
	return ev
}

// stubParse decodes a small test format so the webhook and Lambda tests do not depend on
// notification's rules: {"events":[{"key":"k","seq":1,"pad":0,"invalid":false}],
// "skipped":["reason",...]}. A body that is not that JSON is malformed. pad > 0 makes the event's record that many bytes long (see
// sizedEvent); invalid makes an event that fails envelope validation, so it can never be put.
func stubParse(t testing.TB) ParseFunc {
	return func(body []byte) (notification.Result, error) {
		var in struct {
			Events []struct {
				Key     string `json:"key"`
				Seq     int    `json:"seq"`
				Pad     int    `json:"pad"`
				Invalid bool   `json:"invalid"`
			} `json:"events"`
			Skipped []string `json:"skipped"`
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil {
			return notification.Result{}, fmt.Errorf("%w: %w", notification.ErrMalformed, err)
		}
		var res notification.Result
		for _, e := range in.Events {
			if e.Pad > 0 {
				res.Events = append(res.Events, sizedEvent(t, e.Key, e.Pad))
				continue
			}
			if e.Invalid {
				ev := testEvent(t, e.Key, e.Seq)
				ev.Op = "copy"
				res.Events = append(res.Events, ev)
				continue
			}
			res.Events = append(res.Events, testEvent(t, e.Key, e.Seq))
		}
		for _, r := range in.Skipped {
			res.Skipped = append(res.Skipped, notification.Skip{Reason: r, Detail: "stub"})
		}
		return res, nil
	}
}

// decodeRecords decodes the records of a call, failing the test on a bad one.
func decodeRecords(t *testing.T, in *kinesis.PutRecordsInput) []envelope.Event {
	t.Helper()
	evs := make([]envelope.Event, len(in.Records))
	for i, r := range in.Records {
		ev, err := envelope.Decode(r.Data)
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if got, want := aws.ToString(r.PartitionKey), ev.PartitionKey(); got != want {
			t.Fatalf("record %d partition key %q, want %q", i, got, want)
		}
		evs[i] = ev
	}
	return evs
}

var errTest = errors.New("test failure")
