package forwarder

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/shardline/shardline/internal/envelope"
)

func TestWriteBatches(t *testing.T) {
	sized := func(n, size int) func(t *testing.T) []envelope.Event {
		return func(t *testing.T) []envelope.Event {
			evs := make([]envelope.Event, n)
			for i := range evs {
				evs[i] = sizedEvent(t, fmt.Sprintf("big/%03d", i), size)
			}
			return evs
		}
	}
	counted := func(n int) func(t *testing.T) []envelope.Event {
		return func(t *testing.T) []envelope.Event { return testEvents(t, n) }
	}
	tests := []struct {
		name   string
		events func(t *testing.T) []envelope.Event
		size   int   // bytes of every record, 0 for not checked
		want   []int // records per call
	}{
		{"one event", counted(1), 0, []int{1}},
		{"500 records fit one call", counted(500), 0, []int{500}},
		{"501 records split at 500", counted(501), 0, []int{500, 1}},
		{"1200 records", counted(1200), 0, []int{500, 500, 200}},
		{"5 MiB fits one call", sized(256, 20<<10), 20 << 10, []int{256}},
		{"over 5 MiB splits", sized(257, 20<<10), 20 << 10, []int{256, 1}},
		{"bytes split before count", sized(520, 12<<10), 12 << 10, []int{426, 94}},
		{"count split before bytes", sized(600, 10<<10), 10 << 10, []int{500, 100}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kin := &fakeKinesis{}
			w, reg, _ := newTestWriter(t, kin, nil)
			events := tc.events(t)
			if err := w.Write(t.Context(), events); err != nil {
				t.Fatalf("Write: %v", err)
			}
			calls := kin.sent()
			var got []int
			var sent []envelope.Event
			var keys []string
			for _, in := range calls {
				got = append(got, len(in.Records))
				if aws.ToString(in.StreamName) != "shardline-test" {
					t.Errorf("StreamName %q", aws.ToString(in.StreamName))
				}
				bytes := 0
				for _, r := range in.Records {
					size := len(r.Data) + len(aws.ToString(r.PartitionKey))
					if tc.size != 0 && size != tc.size {
						t.Fatalf("record of %d bytes, want %d", size, tc.size)
					}
					bytes += size
				}
				if len(in.Records) > MaxRequestRecords || bytes > MaxRequestBytes {
					t.Errorf("call of %d records, %d bytes exceeds the limits", len(in.Records), bytes)
				}
				for _, r := range in.Records {
					keys = append(keys, aws.ToString(r.PartitionKey))
				}
				if tc.size == 0 { // decoding megabytes under -race is slow; small records show enough
					sent = append(sent, decodeRecords(t, in)...)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("records per call %v, want %v", got, tc.want)
			}
			if len(keys) != len(events) {
				t.Fatalf("sent %d records, want %d", len(keys), len(events))
			}
			for i, pk := range keys {
				if pk != events[i].PartitionKey() {
					t.Fatalf("record %d has partition key %q, want %q (order not kept)", i, pk, events[i].PartitionKey())
				}
			}
			for i, ev := range sent {
				if ev.ID != events[i].ID {
					t.Fatalf("record %d is event %s, want %s (order not kept)", i, ev.ID, events[i].ID)
				}
				if !ev.ForwardedAt.Equal(clockStart) {
					t.Fatalf("record %d ForwardedAt %v, want %v", i, ev.ForwardedAt, clockStart)
				}
			}
			if !events[0].ForwardedAt.IsZero() {
				t.Errorf("Write modified the caller's events")
			}
			assertCounter(t, reg, "shardline_forwarder_records_forwarded_total", nil, float64(len(events)))
			assertCounter(t, reg, "shardline_forwarder_put_records_requests_total", map[string]string{"result": "ok"}, float64(len(tc.want)))
		})
	}
}

func TestWriteRetries(t *testing.T) {
	throttled := &types.ProvisionedThroughputExceededException{Message: aws.String("slow down")}
	unavailable := &smithyhttp.ResponseError{
		Response: &smithyhttp.Response{Response: &http.Response{StatusCode: http.StatusServiceUnavailable}},
		Err:      errors.New("service unavailable"),
	}
	type answer struct {
		refuse map[int]string // record index -> error code
		err    error
	}
	tests := []struct {
		name      string
		answers   []answer // one per call; past the end everything is accepted
		wantCalls [][]int  // original event indexes sent in each call
		retries   float64
		results   map[string]float64 // put_records_requests_total by result
	}{
		{
			name: "partial failure resends only failed records in order",
			answers: []answer{
				{refuse: map[int]string{1: "ProvisionedThroughputExceededException", 3: "InternalFailure"}},
				{refuse: map[int]string{0: "InternalFailure"}},
			},
			wantCalls: [][]int{{0, 1, 2, 3, 4}, {1, 3}, {1}},
			retries:   3,
			results:   map[string]float64{"partial": 2, "ok": 1},
		},
		{
			name:      "throttled call resent whole",
			answers:   []answer{{err: throttled}, {err: throttled}},
			wantCalls: [][]int{{0, 1, 2, 3, 4}, {0, 1, 2, 3, 4}, {0, 1, 2, 3, 4}},
			retries:   10,
			results:   map[string]float64{"error": 2, "ok": 1},
		},
		{
			name:      "limit exceeded retried",
			answers:   []answer{{err: &types.LimitExceededException{Message: aws.String("limit")}}},
			wantCalls: [][]int{{0, 1, 2, 3, 4}, {0, 1, 2, 3, 4}},
			retries:   5,
			results:   map[string]float64{"error": 1, "ok": 1},
		},
		{
			name:      "5xx retried",
			answers:   []answer{{err: unavailable}},
			wantCalls: [][]int{{0, 1, 2, 3, 4}, {0, 1, 2, 3, 4}},
			retries:   5,
			results:   map[string]float64{"error": 1, "ok": 1},
		},
		{
			name:      "transport error retried",
			answers:   []answer{{err: errors.New("connection reset by peer")}},
			wantCalls: [][]int{{0, 1, 2, 3, 4}, {0, 1, 2, 3, 4}},
			retries:   5,
			results:   map[string]float64{"error": 1, "ok": 1},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kin := &fakeKinesis{respond: func(call int, in *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
				if call >= len(tc.answers) {
					return accept(in), nil
				}
				a := tc.answers[call]
				if a.err != nil {
					return nil, a.err
				}
				return refuse(in, a.refuse), nil
			}}
			w, reg, clock := newTestWriter(t, kin, func(c *WriterConfig) {
				c.BackoffBase = 100 * time.Millisecond
				c.BackoffMax = time.Second
			})
			events := testEvents(t, 5)
			index := map[string]int{}
			for i, ev := range events {
				index[ev.ID] = i
			}
			if err := w.Write(t.Context(), events); err != nil {
				t.Fatalf("Write: %v", err)
			}
			var got [][]int
			for _, in := range kin.sent() {
				var idx []int
				for _, ev := range decodeRecords(t, in) {
					idx = append(idx, index[ev.ID])
				}
				got = append(got, idx)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.wantCalls) {
				t.Fatalf("calls %v, want %v", got, tc.wantCalls)
			}
			waits := clock.waits()
			if len(waits) != len(tc.wantCalls)-1 {
				t.Errorf("%d backoff waits, want %d", len(waits), len(tc.wantCalls)-1)
			}
			for i, d := range waits {
				if ceiling := min(100*time.Millisecond<<i, time.Second); d < 0 || d > ceiling {
					t.Errorf("wait %d is %s, want within [0, %s]", i, d, ceiling)
				}
			}
			assertCounter(t, reg, "shardline_forwarder_records_forwarded_total", nil, 5)
			assertCounter(t, reg, "shardline_forwarder_put_records_retries_total", nil, tc.retries)
			assertCounter(t, reg, "shardline_forwarder_put_records_failed_total", nil, 0)
			for result, want := range tc.results {
				assertCounter(t, reg, "shardline_forwarder_put_records_requests_total", map[string]string{"result": result}, want)
			}
		})
	}
}

func TestWriteGivesUp(t *testing.T) {
	refuseSecond := func(call int, in *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
		// The record of the event with key photos/00001.jpg is always refused.
		codes := map[int]string{}
		for i, r := range in.Records {
			if strings.HasSuffix(aws.ToString(r.PartitionKey), "/photos/00001.jpg") {
				codes[i] = "ProvisionedThroughputExceededException"
			}
		}
		return refuse(in, codes), nil
	}
	tests := []struct {
		name      string
		events    int
		respond   putRecordsFunc
		adjust    func(*WriterConfig)
		cancel    bool // cancel the caller's context during the first backoff
		failed    int
		calls     int // 0: do not check
		wantIs    error
		wantInMsg string
	}{
		{
			name: "deadline passes", events: 3, respond: refuseSecond,
			adjust: func(c *WriterConfig) {
				c.Deadline, c.MaxAttempts = time.Second, 1000
				c.BackoffBase, c.BackoffMax = 50*time.Millisecond, 200*time.Millisecond
			},
			failed: 1, wantIs: &RecordError{}, wantInMsg: "deadline of 1s reached",
		},
		{
			name: "attempts run out", events: 3, respond: refuseSecond,
			adjust: func(c *WriterConfig) { c.MaxAttempts = 3 },
			failed: 1, calls: 3, wantIs: &RecordError{}, wantInMsg: "3 PutRecords attempts",
		},
		{
			name: "permanent call error not retried", events: 4,
			respond: func(int, *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
				return nil, &types.ResourceNotFoundException{Message: aws.String("no such stream")}
			},
			failed: 4, calls: 1, wantIs: &types.ResourceNotFoundException{}, wantInMsg: "no such stream",
		},
		{
			// A refused record whose code retrying cannot fix (awsretry.RecordRetryable) fails the
			// Write at once: redrive relies on it to stop on a disabled KMS key.
			name: "permanent record error not retried", events: 3,
			respond: func(_ int, in *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
				return refuse(in, map[int]string{0: "InternalFailure", 2: "KMSDisabledException"}), nil
			},
			failed: 2, calls: 1, wantIs: &RecordError{}, wantInMsg: "KMSDisabledException",
		},
		{
			name: "later batches count as not forwarded", events: 600,
			respond: func(int, *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
				return nil, &types.AccessDeniedException{Message: aws.String("denied")}
			},
			failed: 600, calls: 1, wantIs: &types.AccessDeniedException{}, wantInMsg: "600 of 600",
		},
		{
			name: "caller context canceled", events: 3, respond: refuseSecond, cancel: true,
			failed: 1, calls: 1, wantIs: context.Canceled, wantInMsg: "1 of 3",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kin := &fakeKinesis{respond: tc.respond}
			w, reg, clock := newTestWriter(t, kin, tc.adjust)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			if tc.cancel {
				clock.onWait = cancel
			}
			err := w.Write(ctx, testEvents(t, tc.events))
			var nf *NotForwardedError
			if !errors.As(err, &nf) {
				t.Fatalf("Write error %v, want a *NotForwardedError", err)
			}
			if nf.Failed != tc.failed || nf.Total != tc.events {
				t.Errorf("Failed %d of %d, want %d of %d", nf.Failed, nf.Total, tc.failed, tc.events)
			}
			want := fmt.Sprintf("%d of %d records did not reach Kinesis", tc.failed, tc.events)
			if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), tc.wantInMsg) {
				t.Errorf("error %q does not say %q and %q", err, want, tc.wantInMsg)
			}
			if !errors.Is(err, ErrNotForwarded) {
				t.Errorf("error does not wrap ErrNotForwarded")
			}
			if target, ok := tc.wantIs.(*RecordError); ok {
				if !errors.As(err, &target) {
					t.Errorf("error %v does not carry a *RecordError", err)
				}
			} else if !errors.Is(err, tc.wantIs) && !errorsAsType(err, tc.wantIs) {
				t.Errorf("error %v does not wrap %T", err, tc.wantIs)
			}
			if tc.calls > 0 && len(kin.sent()) != tc.calls {
				t.Errorf("%d calls, want %d", len(kin.sent()), tc.calls)
			}
			if elapsed := clock.Now().Sub(clockStart); elapsed > w.cfg.Deadline {
				t.Errorf("waited %s, past the deadline %s", elapsed, w.cfg.Deadline)
			}
			assertCounter(t, reg, "shardline_forwarder_put_records_failed_total", nil, float64(tc.failed))
			assertCounter(t, reg, "shardline_forwarder_records_forwarded_total", nil, float64(tc.events-tc.failed))
		})
	}
}

// errorsAsType reports whether err has an error of the same type as target in its chain.
func errorsAsType(err, target error) bool {
	switch target.(type) {
	case *types.ResourceNotFoundException:
		_, ok := errors.AsType[*types.ResourceNotFoundException](err)
		return ok
	case *types.AccessDeniedException:
		_, ok := errors.AsType[*types.AccessDeniedException](err)
		return ok
	}
	return false
}

func TestWriteRejectsUnputtableEvents(t *testing.T) {
	tests := []struct {
		name   string
		events func(t *testing.T) []envelope.Event
		check  func(t *testing.T, err error)
	}{
		{
			name: "field over its limit (an envelope near the record size)",
			events: func(t *testing.T) []envelope.Event {
				ev := testEvent(t, "huge", 1)
				ev.VersionID = strings.Repeat("v", MaxRecordBytes)
				return append(testEvents(t, 2), ev)
			},
			check: func(t *testing.T, err error) {
				var fe *envelope.FieldError
				if !errors.As(err, &fe) || fe.Field != "versionId" || !neverPuttable(err) {
					t.Fatalf("error %v, want an envelope.FieldError for versionId that is never puttable", err)
				}
			},
		},
		{
			name: "invalid event",
			events: func(t *testing.T) []envelope.Event {
				ev := testEvent(t, "k", 1)
				ev.Op = "copy"
				return []envelope.Event{testEvent(t, "ok", 1), ev}
			},
			check: func(t *testing.T, err error) {
				if !errors.Is(err, envelope.ErrInvalid) {
					t.Fatalf("error %v, want envelope.ErrInvalid", err)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kin := &fakeKinesis{}
			w, _, _ := newTestWriter(t, kin, nil)
			err := w.Write(t.Context(), tc.events(t))
			tc.check(t, err)
			if n := len(kin.sent()); n != 0 {
				t.Errorf("%d PutRecords calls, want none", n)
			}
		})
	}
}

func TestWriteNothing(t *testing.T) {
	kin := &fakeKinesis{}
	w, _, _ := newTestWriter(t, kin, nil)
	if err := w.Write(t.Context(), nil); err != nil {
		t.Fatalf("Write(nil): %v", err)
	}
	if n := len(kin.sent()); n != 0 {
		t.Errorf("%d calls, want none", n)
	}
}

func TestWriterConfigValidate(t *testing.T) {
	ok := WriterConfig{Client: &fakeKinesis{}, StreamName: "s"}
	tests := []struct {
		name    string
		adjust  func(*WriterConfig)
		wantErr string
	}{
		{"minimal", func(*WriterConfig) {}, ""},
		{"ARN only", func(c *WriterConfig) { c.StreamName, c.StreamARN = "", "arn:aws:kinesis:eu-west-1:1:stream/s" }, ""},
		{"no client", func(c *WriterConfig) { c.Client = nil }, "Client is required"},
		{"no stream", func(c *WriterConfig) { c.StreamName = "" }, "StreamName or StreamARN"},
		{"negative attempts", func(c *WriterConfig) { c.MaxAttempts = -1 }, "MaxAttempts"},
		{"negative deadline", func(c *WriterConfig) { c.Deadline = -time.Second }, "Deadline"},
		{"base above max", func(c *WriterConfig) { c.BackoffBase, c.BackoffMax = time.Second, time.Millisecond }, "exceeds"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok
			tc.adjust(&cfg)
			err := cfg.Validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				if _, err := NewWriter(cfg); err != nil {
					t.Fatalf("NewWriter: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Validate error %v, want one mentioning %q", err, tc.wantErr)
			}
			if _, err := NewWriter(cfg); err == nil {
				t.Fatalf("NewWriter accepted an invalid config")
			}
		})
	}
}

func TestWriterDefaults(t *testing.T) {
	tests := []struct {
		name     string
		in       WriterConfig
		base     time.Duration
		max      time.Duration
		attempts int
		deadline time.Duration
	}{
		{"zero", WriterConfig{}, DefaultBackoffBase, DefaultBackoffMax, DefaultMaxAttempts, DefaultDeadline},
		{"small max", WriterConfig{BackoffMax: 10 * time.Millisecond}, 10 * time.Millisecond, 10 * time.Millisecond, DefaultMaxAttempts, DefaultDeadline},
		{"large base", WriterConfig{BackoffBase: 10 * time.Second}, 10 * time.Second, 10 * time.Second, DefaultMaxAttempts, DefaultDeadline},
		{"set", WriterConfig{BackoffBase: time.Millisecond, BackoffMax: time.Second, MaxAttempts: 2, Deadline: time.Minute}, time.Millisecond, time.Second, 2, time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.in.withDefaults()
			if c.BackoffBase != tc.base || c.BackoffMax != tc.max || c.MaxAttempts != tc.attempts || c.Deadline != tc.deadline {
				t.Errorf("defaults base %s max %s attempts %d deadline %s", c.BackoffBase, c.BackoffMax, c.MaxAttempts, c.Deadline)
			}
			if c.Logger == nil || c.Registerer == nil || c.Now == nil || c.Sleep == nil {
				t.Errorf("nil default")
			}
		})
	}
}

func TestSharedRegistry(t *testing.T) {
	// Two Writers (say, one per stream) on one registry count into the same series.
	kin := &fakeKinesis{}
	w1, reg, _ := newTestWriter(t, kin, nil)
	w2, err := NewWriter(WriterConfig{Client: kin, StreamName: "other", Registerer: reg})
	if err != nil {
		t.Fatalf("second NewWriter on the same registry: %v", err)
	}
	for _, w := range []*Writer{w1, w2} {
		if err := w.Write(t.Context(), testEvents(t, 2)); err != nil {
			t.Fatalf("Write: %v", err)
		}
	}
	assertCounter(t, reg, "shardline_forwarder_records_forwarded_total", nil, 4)
}

func TestRealSleepHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("sleep on a canceled context: %v", err)
	}
	if err := sleep(t.Context(), 0); err != nil {
		t.Fatalf("sleep(0): %v", err)
	}
}

func BenchmarkWrite(b *testing.B) {
	for _, n := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("events=%d", n), func(b *testing.B) {
			w, err := NewWriter(WriterConfig{Client: &fakeKinesis{}, StreamName: "bench"})
			if err != nil {
				b.Fatal(err)
			}
			events := testEvents(b, n)
			b.ReportAllocs()
			for b.Loop() {
				if err := w.Write(b.Context(), events); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestPutRecords(t *testing.T) {
	records := []Record{{Data: []byte("a"), PartitionKey: "in/a"}, {Data: []byte("b"), PartitionKey: "in/b"}, {Data: []byte("c"), PartitionKey: "in/c"}}
	tests := []struct {
		name      string
		codes     []map[int]string // refusals of call i (the last one repeats)
		wantNotIn []int
		wantCalls [][]string // partition keys of each call
	}{
		{"all in", []map[int]string{nil}, nil, [][]string{{"in/a", "in/b", "in/c"}}},
		{"refused record re-sent alone", []map[int]string{{1: "InternalFailure"}, nil}, nil,
			[][]string{{"in/a", "in/b", "in/c"}, {"in/b"}}},
		{"permanent refusal says which", []map[int]string{{0: "InternalFailure", 2: "InternalFailure"}, {1: "KMSDisabledException"}}, []int{2},
			[][]string{{"in/a", "in/b", "in/c"}, {"in/a", "in/c"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kin := &fakeKinesis{respond: func(call int, in *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
				return refuse(in, tc.codes[min(call, len(tc.codes)-1)]), nil
			}}
			w, _, _ := newTestWriter(t, kin, nil)
			notIn, err := w.PutRecords(t.Context(), records)
			if (err != nil) != (tc.wantNotIn != nil) || fmt.Sprint(notIn) != fmt.Sprint(tc.wantNotIn) {
				t.Fatalf("PutRecords = %v, %v; want not in %v", notIn, err, tc.wantNotIn)
			}
			if err != nil && !errors.Is(err, ErrNotForwarded) {
				t.Errorf("error %v does not wrap ErrNotForwarded", err)
			}
			var got [][]string
			for _, call := range kin.sent() {
				var pks []string
				for _, e := range call.Records {
					pks = append(pks, aws.ToString(e.PartitionKey))
					if want := strings.TrimPrefix(aws.ToString(e.PartitionKey), "in/"); string(e.Data) != want {
						t.Errorf("record %s carries %q, want %q as given", aws.ToString(e.PartitionKey), e.Data, want)
					}
				}
				got = append(got, pks)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.wantCalls) {
				t.Errorf("calls %v, want %v", got, tc.wantCalls)
			}
		})
	}
	w, _, _ := newTestWriter(t, &fakeKinesis{}, nil)
	if _, err := w.PutRecords(t.Context(), []Record{{Data: make([]byte, MaxRecordBytes), PartitionKey: "k"}}); !errors.Is(err, ErrOversize) {
		t.Errorf("oversize record: %v, want ErrOversize", err)
	}
}
