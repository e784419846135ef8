package forwarder

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/shardline/shardline/internal/envelope"
	"github.com/shardline/shardline/internal/lab/testkit"
)

// gatedKinesis hands every PutRecords call to the test, which answers it when it chooses: the
// call blocks until then (or until its context ends).
type gatedKinesis struct {
	calls chan *gatedCall
}

type gatedCall struct {
	in    *kinesis.PutRecordsInput
	reply chan gatedReply
}

type gatedReply struct {
	out *kinesis.PutRecordsOutput
	err error
}

func newGatedKinesis() *gatedKinesis { return &gatedKinesis{calls: make(chan *gatedCall)} }

func (g *gatedKinesis) PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, _ ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	c := &gatedCall{in: in, reply: make(chan gatedReply, 1)}
	select {
	case g.calls <- c:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case r := <-c.reply:
		return r.out, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// next waits for the next call.
func (g *gatedKinesis) next(t *testing.T) *gatedCall {
	t.Helper()
	select {
	case c := <-g.calls:
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("no PutRecords call within 10s")
		return nil
	}
}

// keys are the partition keys of the call's records, in order, without the bucket.
func (c *gatedCall) keys() []string {
	out := make([]string, len(c.in.Records))
	for i, r := range c.in.Records {
		out[i] = strings.TrimPrefix(aws.ToString(r.PartitionKey), "in-bucket/")
	}
	return out
}

// answer accepts every record but those whose key (without the bucket) is in refused.
func (c *gatedCall) answer(refused ...string) {
	codes := map[int]string{}
	for i, k := range c.keys() {
		for _, r := range refused {
			if k == r {
				codes[i] = "ProvisionedThroughputExceededException"
			}
		}
	}
	c.reply <- gatedReply{out: refuse(c.in, codes)}
}

// write runs w.Write(ctx, events of keys) in a goroutine the test waits for, and returns the
// channel its error arrives on.
func write(t *testing.T, ctx context.Context, w *Writer, keys ...string) <-chan error {
	t.Helper()
	evs := make([]envelope.Event, len(keys))
	for i, k := range keys {
		evs[i] = testEvent(t, k, i)
	}
	done := make(chan error, 1)
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait)
	wg.Go(func() { done <- w.Write(ctx, evs) })
	return done
}

// waitErr waits for a Write's result.
func waitErr(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("Write did not return within 10s")
		return nil
	}
}

// returned reports whether a Write has returned, without waiting.
func returned(done <-chan error) bool { return len(done) > 0 }

// waitQueued waits until n attempts wait for a call.
func waitQueued(t *testing.T, w *Writer, n int) {
	t.Helper()
	testkit.Eventually(t, 10*time.Second, time.Millisecond, func() bool {
		w.calls.mu.Lock()
		defer w.calls.mu.Unlock()
		return len(w.calls.queue) == n
	}, "%d attempts never waited for a call", n)
}

// holdCall sends a lone Write of key "a" and takes the call carrying it, which the test answers
// when it chooses; while that call is in flight, it sends a Write of each of waiting in turn and
// waits until each waits for a call. It returns a's result, the call and the waiting Writes'
// results.
func holdCall(t *testing.T, w *Writer, kin *gatedKinesis, waiting ...[]string) (<-chan error, *gatedCall, []<-chan error) {
	t.Helper()
	a := write(t, t.Context(), w, "a")
	first := kin.next(t)
	queued := make([]<-chan error, len(waiting))
	for i, keys := range waiting {
		queued[i] = write(t, t.Context(), w, keys...)
		waitQueued(t, w, i+1)
	}
	return a, first, queued
}

// shareCall answers the held call first, waits for a, its Write, and takes the next call, which
// the waiting Writes share: it fails the test unless that call carries keys want, in order.
func shareCall(t *testing.T, kin *gatedKinesis, first *gatedCall, a <-chan error, want string) *gatedCall {
	t.Helper()
	first.answer()
	if err := waitErr(t, a); err != nil {
		t.Fatalf("a: %v", err)
	}
	shared := kin.next(t)
	if got := fmt.Sprint(shared.keys()); got != want {
		t.Fatalf("shared call %s, want %s: the waiting Writes in arrival order, each one's records together and in order", got, want)
	}
	return shared
}

// oneCallAtATime configures a Writer with one call in flight, so the test decides what waits.
func oneCallAtATime(c *WriterConfig) {
	c.MaxCallsInFlight = 1
	c.Deadline, c.MaxAttempts = time.Minute, 1000
}

func TestWritesShareCalls(t *testing.T) {
	kin := newGatedKinesis()
	w, reg, _ := newTestWriter(t, kin, oneCallAtATime)

	// While the first call is in flight, three more Writes (one of three events of one key) wait.
	a, first, queued := holdCall(t, w, kin, []string{"b/1", "b/1", "b/1"}, []string{"c"}, []string{"d"})
	b, c, d := queued[0], queued[1], queued[2]
	if got := fmt.Sprint(first.keys()); got != "[a]" {
		t.Fatalf("first call %s, want [a]: a lone Write is sent at once", got)
	}
	if returned(a) {
		t.Fatal("a returned before its call was answered")
	}
	shared := shareCall(t, kin, first, a, "[b/1 b/1 b/1 c d]")
	sent := decodeRecords(t, shared.in)
	for i := range 3 {
		if sent[i].Sequencer != testEvent(t, "b/1", i).Sequencer {
			t.Fatalf("record %d of b has sequencer %s: b's records are out of order", i, sent[i].Sequencer)
		}
	}
	shared.answer()
	for name, done := range map[string]<-chan error{"b": b, "c": c, "d": d} {
		if err := waitErr(t, done); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	assertCounter(t, reg, "shardline_forwarder_put_records_requests_total", map[string]string{"result": "ok"}, 2)
	assertCounter(t, reg, "shardline_forwarder_records_forwarded_total", nil, 6)
	if calls, records := testkit.Metric(t, reg, "shardline_forwarder_put_records_call_records"),
		testkit.Metric(t, reg, "shardline_forwarder_put_records_call_records_sum"); calls != 2 || records != 6 {
		t.Errorf("put_records_call_records: %v calls carrying %v records, want 2 carrying 6", calls, records)
	}
}

func TestSharedCallPartialFailure(t *testing.T) {
	kin := newGatedKinesis()
	w, reg, _ := newTestWriter(t, kin, oneCallAtATime)

	a, first, queued := holdCall(t, w, kin, []string{"b/1", "b/2"}, []string{"c"})
	b, c := queued[0], queued[1]

	shared := shareCall(t, kin, first, a, "[b/1 b/2 c]")
	shared.answer("b/2")
	if err := waitErr(t, c); err != nil {
		t.Fatalf("c, whose record got in, must be answered at once: %v", err)
	}
	retry := kin.next(t)
	if got := fmt.Sprint(retry.keys()); got != "[b/2]" {
		t.Fatalf("retry %s, want only the refused record [b/2]", got)
	}
	if returned(b) {
		t.Fatal("b returned before its refused record was in")
	}
	retry.answer()
	if err := waitErr(t, b); err != nil {
		t.Fatalf("b: %v", err)
	}
	assertCounter(t, reg, "shardline_forwarder_put_records_retries_total", nil, 1)
	assertCounter(t, reg, "shardline_forwarder_put_records_requests_total", map[string]string{"result": "partial"}, 1)
	assertCounter(t, reg, "shardline_forwarder_records_forwarded_total", nil, 4)
}

func TestSharedCallDeadlineFailsOnlyItsWrite(t *testing.T) {
	kin := newGatedKinesis()
	w, reg, clock := newTestWriter(t, kin, func(c *WriterConfig) {
		oneCallAtATime(c)
		c.BackoffBase, c.BackoffMax = 10*time.Second, 20*time.Second // fake time: the clock moves in Sleep
	})

	a, first, queued := holdCall(t, w, kin, []string{"bad"}, []string{"good"})
	bad, good := queued[0], queued[1]
	shared := shareCall(t, kin, first, a, "[bad good]")
	shared.answer("bad")
	if err := waitErr(t, good); err != nil {
		t.Fatalf("good, in the same call as bad: %v", err)
	}
	// bad is refused until its deadline (one minute of fake time) passes.
	var err error
	for err == nil {
		select {
		case call := <-kin.calls:
			if got := fmt.Sprint(call.keys()); got != "[bad]" {
				t.Fatalf("retry %s, want [bad]", got)
			}
			call.answer("bad")
		case err = <-bad:
			if err == nil {
				t.Fatal("bad: Write returned nil, but its record was never accepted")
			}
		case <-time.After(10 * time.Second):
			t.Fatal("bad neither retried nor returned within 10s")
		}
	}
	var nf *NotForwardedError
	if !errors.As(err, &nf) || nf.Failed != 1 || !strings.Contains(err.Error(), "deadline of 1m0s reached") {
		t.Fatalf("bad: %v, want a *NotForwardedError for 1 record past the deadline", err)
	}
	if elapsed := clock.Now().Sub(clockStart); elapsed > time.Minute {
		t.Errorf("bad waited %s, past its deadline", elapsed)
	}
	assertCounter(t, reg, "shardline_forwarder_put_records_failed_total", nil, 1)
	assertCounter(t, reg, "shardline_forwarder_records_forwarded_total", nil, 2)
}

func TestBacklogFullAnswers503(t *testing.T) {
	kin := newGatedKinesis()
	reg := prometheus.NewRegistry()
	w, _, _ := newTestWriter(t, kin, func(c *WriterConfig) {
		oneCallAtATime(c)
		c.Registerer = reg
		c.MaxPendingRecords = 2
	})
	f := newTestForwarder(t, w, reg, nil)

	a, first, queued := holdCall(t, w, kin, []string{"b"}, []string{"c"})
	b, c := queued[0], queued[1]

	// A third waiting record would go over MaxPendingRecords: refused at once, nothing sent.
	err := w.Write(t.Context(), []envelope.Event{testEvent(t, "d", 1)})
	if !errors.Is(err, ErrBacklogFull) || !errors.Is(err, ErrNotForwarded) {
		t.Fatalf("Write over the backlog: %v, want ErrBacklogFull and ErrNotForwarded", err)
	}
	rec := httptest.NewRecorder()
	f.Webhook().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/webhook", strings.NewReader(`{"events":[{"key":"e","seq":1}]}`)))
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("webhook over the backlog: %d (Retry-After %q), want 503 with Retry-After", rec.Code, rec.Header().Get("Retry-After"))
	}

	first.answer()
	kin.next(t).answer()
	for name, done := range map[string]<-chan error{"a": a, "b": b, "c": c} {
		if err := waitErr(t, done); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	// The backlog is empty again: a new Write goes through.
	e := write(t, t.Context(), w, "e")
	kin.next(t).answer()
	if err := waitErr(t, e); err != nil {
		t.Fatalf("e after the backlog drained: %v", err)
	}
	assertCounter(t, reg, "shardline_forwarder_put_records_failed_total", nil, 2)
}

func TestWaitingWriteCanceled(t *testing.T) {
	kin := newGatedKinesis()
	w, _, _ := newTestWriter(t, kin, oneCallAtATime)

	a := write(t, t.Context(), w, "a")
	first := kin.next(t)
	ctx, cancel := context.WithCancel(t.Context())
	b := write(t, ctx, w, "b")
	waitQueued(t, w, 1)
	cancel()
	if err := waitErr(t, b); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled waiting Write: %v, want context.Canceled", err)
	}
	waitQueued(t, w, 0)
	first.answer()
	if err := waitErr(t, a); err != nil {
		t.Fatalf("a: %v", err)
	}
	// b's place and the slot are free: the next Write is sent alone, at once.
	c := write(t, t.Context(), w, "c")
	call := kin.next(t)
	if got := fmt.Sprint(call.keys()); got != "[c]" {
		t.Fatalf("call %s, want [c]: the canceled Write's record must not be sent", got)
	}
	call.answer()
	if err := waitErr(t, c); err != nil {
		t.Fatalf("c: %v", err)
	}
}

// TestConcurrentWritesStress runs many concurrent Writes against a Kinesis that refuses records
// at random and checks what the tests above check one case at a time: every Write returns nil only
// with all its records in, its records travel together and in order, no call breaks a limit, and
// no slot or waiting record is lost (the last Writes would hang).
func TestConcurrentWritesStress(t *testing.T) {
	var mu sync.Mutex
	accepted := map[string]int{} // event ID → times accepted
	kin := &fakeKinesis{respond: func(_ int, in *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
		codes := map[int]string{}
		mu.Lock()
		defer mu.Unlock()
		for i, r := range in.Records {
			if rand.N(4) == 0 {
				codes[i] = "ProvisionedThroughputExceededException"
				continue
			}
			ev, err := envelope.Decode(r.Data)
			if err != nil {
				return nil, err
			}
			accepted[ev.ID]++
		}
		if len(in.Records) > MaxRequestRecords {
			return nil, fmt.Errorf("%d records in one call", len(in.Records))
		}
		return refuse(in, codes), nil
	}}
	w, _, _ := newTestWriter(t, kin, func(c *WriterConfig) {
		c.MaxCallsInFlight = 3
		c.MaxAttempts = 1000
		c.Logger = nil
	})
	const writers, each = 32, 20
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	var ids sync.Map
	for g := range writers {
		wg.Go(func() {
			for i := range each {
				n := 1 + (g+i)%3
				evs := make([]envelope.Event, n)
				for j := range evs {
					evs[j] = testEvent(t, fmt.Sprintf("w%02d/%02d", g, i), j)
					ids.Store(evs[j].ID, true)
				}
				if err := w.Write(t.Context(), evs); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Write: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	ids.Range(func(k, _ any) bool {
		if accepted[k.(string)] == 0 {
			t.Errorf("event %s never accepted, yet its Write returned nil", k)
		}
		return true
	})
	// Within every call, the records of one Write (one key here) are adjacent and in order.
	for n, in := range kin.sent() {
		evs := decodeRecords(t, in)
		for i := 1; i < len(evs); i++ {
			if evs[i].Key == evs[i-1].Key && evs[i].Sequencer <= evs[i-1].Sequencer {
				t.Fatalf("call %d: key %s out of order", n, evs[i].Key)
			}
		}
	}
	w.calls.mu.Lock()
	defer w.calls.mu.Unlock()
	if w.calls.inFlight != 0 || w.calls.pending != 0 || len(w.calls.queue) != 0 {
		t.Errorf("after all Writes: %d in flight, %d pending, %d queued; want none", w.calls.inFlight, w.calls.pending, len(w.calls.queue))
	}
}
