package forwarder

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/smithy-go"

	"github.com/shardline/shardline/internal/envelope"
	"github.com/shardline/shardline/internal/lab/testkit"
)

func TestAssessForwarder(t *testing.T) {
	now := clockStart
	const bound = 30 * time.Second
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	tests := []struct {
		name    string
		okAt    time.Time
		failing bool
		err     string
		ready   bool
		reason  string
	}{
		{"nothing yet", time.Time{}, false, "", false, "starting"},
		{"answered recently", ago(2 * time.Second), false, "", true, "ready"},
		{"answered at the bound", ago(bound), false, "", true, "ready"},
		{"answered too long ago", ago(bound + time.Second), false, "", false, "not reached for 31s"},
		{"last call failed", ago(5 * time.Second), true, "PutRecords: connection refused", false, "the last call failed: PutRecords: connection refused"},
		{"never answered, failing", time.Time{}, true, "DescribeStreamSummary: ResourceNotFoundException", false, "ResourceNotFoundException"},
		{"answered after a failure", ago(time.Second), false, "PutRecords: throttled", true, "ready"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := AssessForwarder(now, tc.okAt, tc.failing, tc.err, bound)
			if !st.Live {
				t.Errorf("not live: a forwarder is live while it serves")
			}
			if st.Ready != tc.ready || !strings.Contains(st.Reason, tc.reason) {
				t.Errorf("ready %v %q, want %v and %q", st.Ready, st.Reason, tc.ready, tc.reason)
			}
		})
	}
}

// fakeDescriber answers DescribeStreamSummary with err (nil: success) and counts the calls.
type fakeDescriber struct {
	mu    sync.Mutex
	err   error
	calls int
}

func (f *fakeDescriber) DescribeStreamSummary(context.Context, *kinesis.DescribeStreamSummaryInput, ...func(*kinesis.Options)) (*kinesis.DescribeStreamSummaryOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	return &kinesis.DescribeStreamSummaryOutput{}, f.err
}

func (f *fakeDescriber) set(err error) {
	f.mu.Lock()
	f.err = err
	f.mu.Unlock()
}

// TestHealthFollowsPutRecords: the forwarder turns not ready while PutRecords fails, and ready
// again when it succeeds; the probe decides only while no PutRecords is made.
func TestHealthFollowsPutRecords(t *testing.T) {
	var failing sync.Mutex
	fail := false
	kin := &fakeKinesis{respond: func(_ int, in *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
		failing.Lock()
		defer failing.Unlock()
		if fail {
			return nil, errors.New("dial tcp 127.0.0.1:4567: connection refused")
		}
		return accept(in), nil
	}}
	w, _, clock := newTestWriter(t, kin, func(c *WriterConfig) { c.MaxAttempts = 1 })
	desc := &fakeDescriber{}
	h, err := NewHealth(HealthConfig{Writer: w, Client: desc, StreamName: "s", NotReadyAfter: 30 * time.Second, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if st := h.Health(); st.Ready {
		t.Fatalf("ready before Kinesis answered: %+v", st)
	}
	events := []envelope.Event{testEvent(t, "a.jpg", 1)}
	if err := w.Write(context.Background(), events); err != nil {
		t.Fatal(err)
	}
	if st := h.Health(); !st.Ready {
		t.Fatalf("not ready after a PutRecords: %+v", st)
	}
	failing.Lock()
	fail = true
	failing.Unlock()
	if err := w.Write(context.Background(), events); err == nil {
		t.Fatal("Write succeeded against a failing Kinesis")
	}
	if st := h.Health(); st.Ready || !st.Live || !strings.Contains(st.Reason, "connection refused") {
		t.Fatalf("while PutRecords fails: %+v", st)
	}
	failing.Lock()
	fail = false
	failing.Unlock()
	if err := w.Write(context.Background(), events); err != nil {
		t.Fatal(err)
	}
	if st := h.Health(); !st.Ready {
		t.Fatalf("not ready again after PutRecords succeeded: %+v", st)
	}
	clock.Sleep(context.Background(), 31*time.Second)
	if st := h.Health(); st.Ready {
		t.Fatalf("ready 31s after Kinesis last answered: %+v", st)
	}
	// An idle forwarder probes: success makes it ready, failure not, AccessDenied counts as an
	// answer (the role may be allowed PutRecords only).
	h.probe(context.Background())
	if st := h.Health(); !st.Ready {
		t.Fatalf("not ready after a successful probe: %+v", st)
	}
	desc.set(&smithy.GenericAPIError{Code: "ResourceNotFoundException", Message: "Stream s not found"})
	clock.Sleep(context.Background(), time.Second)
	h.probe(context.Background())
	if st := h.Health(); st.Ready || !strings.Contains(st.Reason, "ResourceNotFoundException") {
		t.Fatalf("after a probe of a missing stream: %+v", st)
	}
	desc.set(&smithy.GenericAPIError{Code: "AccessDeniedException", Message: "not authorized"})
	clock.Sleep(context.Background(), time.Second)
	h.probe(context.Background())
	if st := h.Health(); !st.Ready {
		t.Fatalf("after a probe refused for permission: %+v", st)
	}
}

// TestHealthRunProbesWhenIdle: Run probes at once and stops with its context.
func TestHealthRunProbesWhenIdle(t *testing.T) {
	w, _, _ := newTestWriter(t, &fakeKinesis{}, nil)
	desc := &fakeDescriber{}
	h, err := NewHealth(HealthConfig{Writer: w, Client: desc, StreamName: "s", NotReadyAfter: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	testkit.Eventually(t, 10*time.Second, 5*time.Millisecond, func() bool { return h.Health().Ready },
		"not ready after Run started")
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}
