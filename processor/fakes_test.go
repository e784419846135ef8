package processor

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	kcl "github.com/vmware/vmware-go-kcl-v2/clientlibrary/interfaces"

	"github.com/shardline/shardline/internal/deadletter"
	"github.com/shardline/shardline/internal/envelope"
	"github.com/shardline/shardline/internal/lab/testkit"
	"github.com/shardline/shardline/internal/ledger"
	"github.com/shardline/shardline/internal/sequencer"
)

const (
	testShard  = "shardId-000000000007"
	testWorker = "worker-a"
	testBucket = "inbox"
	shardEnd   = "SHARD_END" // how fakeCheckpointer records Checkpoint(nil)
)

// ---- Handler ----

// fakeHandler records every call and answers with fn. attempt is 1 for the first call with an
// event's (ID, op), 2 for the second, and so on. It is also a Verifier: verify answers (nil:
// the output always matches the input, so checks find nothing to repair).
type fakeHandler struct {
	mu       sync.Mutex
	calls    []envelope.Event
	seen     map[string]int
	verifies int
	fn       func(ctx context.Context, ev envelope.Event, attempt int) error
	verify   func(ctx context.Context, ev envelope.Event) (bool, error)
}

func (h *fakeHandler) Verify(ctx context.Context, pev Event) (bool, error) {
	ev := envelope.Event(pev)
	h.mu.Lock()
	h.verifies++
	fn := h.verify
	h.mu.Unlock()
	if fn != nil {
		return fn(ctx, ev)
	}
	return true, ctx.Err()
}

func (h *fakeHandler) Verifies() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.verifies
}

func (h *fakeHandler) Handle(ctx context.Context, pev Event) error {
	ev := envelope.Event(pev)
	h.mu.Lock()
	if h.seen == nil {
		h.seen = map[string]int{}
	}
	h.calls = append(h.calls, ev)
	h.seen[ev.ID+"|"+ev.Op]++
	attempt := h.seen[ev.ID+"|"+ev.Op]
	fn := h.fn
	h.mu.Unlock()
	if fn != nil {
		if err := fn(ctx, ev, attempt); err != nil {
			return err
		}
	}
	return ctx.Err() // like a real handler, a cancelled call does not succeed
}

// Calls returns "op key@sequencer" for every call, in order.
func (h *fakeHandler) Calls() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]string, 0, len(h.calls))
	for _, ev := range h.calls {
		out = append(out, callString(ev.Op, ev.Key, ev.Sequencer))
	}
	return out
}

func (h *fakeHandler) Events() []envelope.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]envelope.Event(nil), h.calls...)
}

func callString(op, key, normSeq string) string { return op + " " + key + "@" + normSeq }

// call is an expected handler call with a raw (not normalised) sequencer.
func call(t *testing.T, op, key, rawSeq string) string {
	t.Helper()
	return callString(op, key, norm(t, rawSeq))
}

func norm(t *testing.T, rawSeq string) string {
	t.Helper()
	s, err := sequencer.Normalize(rawSeq)
	if err != nil {
		t.Fatalf("normalise %q: %v", rawSeq, err)
	}
	return s
}

// ---- Ledger ----

// fakeLedger keeps entries in memory and implements the real rule: reads are judged with
// ledger.Decide and a commit succeeds only if the stored (epoch, sequencer) is older.
type fakeLedger struct {
	mu        sync.Mutex
	entries   map[string]ledger.Entry
	epoch     int64
	commits   []ledger.Entry // successful commits, in order
	conflicts int            // commits refused by the condition
	gets      int

	epochErr  func(n int) error                 // n: 1-based Epoch call number
	getErr    func(object string, n int) error  // n: 1-based Get call number
	commitErr func(e ledger.Entry, n int) error // n: 1-based Commit call number; before the condition
	onGet     func(object string)               // called before a Get is answered, without the lock
	onCommit  func(e ledger.Entry, err error)   // called after a Commit, without the lock
	// Every hook runs without the lock; reads and commits fail with ctx's error once it is done.
	epochN  int
	commitN int
}

func newFakeLedger() *fakeLedger { return &fakeLedger{entries: map[string]ledger.Entry{}} }

func (l *fakeLedger) Get(ctx context.Context, object string) (ledger.Entry, bool, error) {
	l.mu.Lock()
	onGet, getErr := l.onGet, l.getErr
	l.gets++
	n := l.gets
	l.mu.Unlock()
	if onGet != nil {
		onGet(object)
	}
	if getErr != nil {
		if err := getErr(object, n); err != nil {
			return ledger.Entry{}, false, err
		}
	}
	if err := ctx.Err(); err != nil {
		return ledger.Entry{}, false, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.entries[object]
	return e, ok, nil
}

func (l *fakeLedger) Commit(ctx context.Context, e ledger.Entry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	l.mu.Lock()
	l.commitN++
	n := l.commitN
	commitErr, onCommit := l.commitErr, l.onCommit
	l.mu.Unlock()
	var err error
	if commitErr != nil {
		err = commitErr(e, n)
	}
	if err == nil {
		l.mu.Lock()
		err = l.commitLocked(e)
		l.mu.Unlock()
	}
	if onCommit != nil {
		onCommit(e, err)
	}
	return err
}

func (l *fakeLedger) commitLocked(e ledger.Entry) error {
	if stored, ok := l.entries[e.Object]; ok &&
		ledger.Decide(stored, true, e.Epoch, envelope.Event{Sequencer: e.Sequencer}) != ledger.Apply {
		l.conflicts++
		return fmt.Errorf("ledger commit %s at %s: %w", e.Object, e.Sequencer, ledger.ErrConflict)
	}
	l.entries[e.Object] = e
	l.commits = append(l.commits, e)
	return nil
}

// set stores an entry directly, the way another worker's commit would.
func (l *fakeLedger) set(e ledger.Entry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries[e.Object] = e
}

func (l *fakeLedger) Epoch(context.Context) (int64, error) {
	l.mu.Lock()
	l.epochN++
	n, epochErr, epoch := l.epochN, l.epochErr, l.epoch
	l.mu.Unlock()
	if epochErr != nil {
		if err := epochErr(n); err != nil {
			return 0, err
		}
	}
	return epoch, nil
}

func (l *fakeLedger) EpochCalls() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.epochN
}

func (l *fakeLedger) entry(object string) (ledger.Entry, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.entries[object]
	return e, ok
}

func (l *fakeLedger) Commits() []ledger.Entry {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]ledger.Entry(nil), l.commits...)
}

func (l *fakeLedger) Gets() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.gets
}

// ---- DeadLetters ----

type fakeDeadLetters struct {
	mu      sync.Mutex
	letters []deadletter.Letter // stored letters
	puts    int                 // Put calls
	putErr  func(l deadletter.Letter, n int) error
}

func (d *fakeDeadLetters) Put(ctx context.Context, l deadletter.Letter) error {
	d.mu.Lock()
	d.puts++
	n, putErr := d.puts, d.putErr
	d.mu.Unlock()
	if putErr != nil {
		if err := putErr(l, n); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, old := range d.letters {
		if old.ID() == l.ID() {
			return fmt.Errorf("fake dead letters: %s stored twice", l.ID())
		}
	}
	d.letters = append(d.letters, l)
	return nil
}

func (d *fakeDeadLetters) Letters() []deadletter.Letter {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]deadletter.Letter(nil), d.letters...)
}

func (d *fakeDeadLetters) Puts() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.puts
}

// ---- Leases ----

// fakeLeases owns every shard until lose is called or ownsFn says otherwise; Revoke gives the
// shard up for good, like the real checkpointer.
type fakeLeases struct {
	mu      sync.Mutex
	lost    bool
	ownsFn  func() bool
	revoked []string
}

func (f *fakeLeases) Owns(shardID string) bool {
	f.mu.Lock()
	lost, fn := f.lost, f.ownsFn
	for _, s := range f.revoked {
		if s == shardID {
			lost = true
		}
	}
	f.mu.Unlock()
	if lost {
		return false
	}
	return fn == nil || fn()
}

func (f *fakeLeases) Revoke(shardID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.revoked = append(f.revoked, shardID)
}

func (f *fakeLeases) lose() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lost = true
}

func (f *fakeLeases) Revoked() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.revoked...)
}

// ---- KCL checkpointer ----

// fakeCheckpointer records every Checkpoint call ("SHARD_END" for nil), including refused ones.
type fakeCheckpointer struct {
	mu    sync.Mutex
	calls []string
	err   func(seq string) error
}

var _ kcl.IRecordProcessorCheckpointer = (*fakeCheckpointer)(nil)

func (c *fakeCheckpointer) Checkpoint(seq *string) error {
	s := shardEnd
	if seq != nil {
		s = *seq
	}
	c.mu.Lock()
	c.calls = append(c.calls, s)
	fn := c.err
	c.mu.Unlock()
	if fn != nil {
		return fn(s)
	}
	return nil
}

func (c *fakeCheckpointer) PrepareCheckpoint(*string) (kcl.IPreparedCheckpointer, error) {
	return nil, fmt.Errorf("fake checkpointer: PrepareCheckpoint not supported")
}

func (c *fakeCheckpointer) Calls() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.calls...)
}

// ---- harness ----

type harness struct {
	t       *testing.T
	ctx     context.Context
	cancel  context.CancelFunc
	handler *fakeHandler
	ledger  *fakeLedger
	dl      *fakeDeadLetters
	leases  *fakeLeases
	cp      *fakeCheckpointer
	reg     *prometheus.Registry
	factory *factory
	proc    kcl.IRecordProcessor
	nextSeq int
}

type harnessOption func(*recordConfig)

func withRetry(r Retry) harnessOption { return func(c *recordConfig) { c.Retry = r } }

// newHarness builds a factory with fakes, creates a processor and initialises it on testShard.
// Tests set fakes' hooks before the first ProcessRecords.
func newHarness(t *testing.T, opts ...harnessOption) *harness {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	h := &harness{
		t: t, ctx: ctx, cancel: cancel,
		handler: &fakeHandler{}, ledger: newFakeLedger(), dl: &fakeDeadLetters{},
		leases: &fakeLeases{}, cp: &fakeCheckpointer{}, reg: prometheus.NewRegistry(),
	}
	cfg := recordConfig{
		Handler: h.handler, Ledger: h.ledger, DeadLetters: h.dl, Leases: h.leases, WorkerID: testWorker,
		Retry: Retry{MaxAttempts: 5, Base: time.Millisecond, Max: 2 * time.Millisecond},
		// Record by record, as these tests exercise the ledger rule; batch_test.go covers
		// coalescing and concurrency.
		NoCoalescing: true, KeyConcurrency: 1,
		Registerer: h.reg,
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	for _, o := range opts {
		o(&cfg)
	}
	f, err := newFactory(ctx, cfg)
	if err != nil {
		t.Fatalf("newFactory: %v", err)
	}
	h.factory = f
	h.proc = f.CreateProcessor()
	h.proc.Initialize(&kcl.InitializationInput{
		ShardId:                testShard,
		ExtendedSequenceNumber: &kcl.ExtendedSequenceNumber{SequenceNumber: aws.String("TRIM_HORIZON")},
	})
	return h
}

// event builds a valid envelope event for testBucket/key.
func event(t *testing.T, key, op, rawSeq string) envelope.Event {
	t.Helper()
	name := "ObjectCreated:Put"
	if op == envelope.OpDelete {
		name = "ObjectRemoved:Delete"
	}
	ev, err := envelope.New("aws:s3", name, testBucket, key, op, rawSeq, "etag-"+strings.ToLower(rawSeq), "", 42,
		time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatalf("envelope.New(%s %s %s): %v", key, op, rawSeq, err)
	}
	return ev
}

// record wraps an event into a Kinesis record with the next sequence number.
func (h *harness) record(ev envelope.Event) types.Record {
	h.t.Helper()
	data, err := envelope.Encode(ev)
	if err != nil {
		h.t.Fatalf("envelope.Encode: %v", err)
	}
	return h.raw(data, ev.PartitionKey())
}

// put and del build records of events of testBucket/key.
func (h *harness) put(key, rawSeq string) types.Record {
	h.t.Helper()
	return h.record(event(h.t, key, envelope.OpPut, rawSeq))
}

func (h *harness) del(key, rawSeq string) types.Record {
	h.t.Helper()
	return h.record(event(h.t, key, envelope.OpDelete, rawSeq))
}

// raw builds a record with arbitrary data and the next sequence number.
func (h *harness) raw(data []byte, partitionKey string) types.Record {
	h.nextSeq++
	return types.Record{
		Data:           data,
		SequenceNumber: aws.String(seqNo(h.nextSeq)),
		PartitionKey:   aws.String(partitionKey),
	}
}

// seqNo is the Kinesis sequence number the harness gives to its n-th record (1-based).
func seqNo(n int) string { return fmt.Sprintf("4959%020d", n) }

func (h *harness) process(records ...types.Record) {
	h.t.Helper()
	h.proc.ProcessRecords(&kcl.ProcessRecordsInput{Records: records, Checkpointer: h.cp, MillisBehindLatest: 1500})
}

func (h *harness) shutdown(reason kcl.ShutdownReason) {
	h.t.Helper()
	h.proc.Shutdown(&kcl.ShutdownInput{ShutdownReason: reason, Checkpointer: h.cp})
}

// async runs f in its own goroutine and returns a channel closed when f has returned; the test
// waits for it (waitClosed).
func async(f func()) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	return done
}

// waitClosed waits up to 10s for done to be closed, and fails the test with msg (formatted with
// args) when it is not.
func waitClosed(t *testing.T, done <-chan struct{}, msg string, args ...any) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf(msg, args...)
	}
}

// ---- metrics ----

// assertMetric checks the metric name against want (a series's labels, `label="value"` pairs
// joined by commas, or "" for an unlabelled metric → its value); series absent from want must be
// zero. It reads through testkit.Metric: each wanted series by its labels, and the others as what
// the metric's total holds beyond them (the metrics asserted are counters, histograms and gauges
// that never go negative, so a zero rest means every other series is zero).
func assertMetric(t *testing.T, reg *prometheus.Registry, name string, want map[string]float64) {
	t.Helper()
	if n, err := testutil.GatherAndCount(reg, name); err != nil {
		t.Fatalf("GatherAndCount(%s): %v", name, err)
	} else if n == 0 && len(want) > 0 {
		t.Errorf("%s: no series registered, want %v", name, want)
		return
	}
	rest := testkit.Metric(t, reg, name)
	for series, v := range want {
		got := testkit.Metric(t, reg, name, seriesLabels(t, series)...)
		if got != v {
			t.Errorf("%s{%s} = %v, want %v", name, series, got, v)
		}
		rest -= got
	}
	if rest != 0 {
		t.Errorf("%s: the series other than %v add up to %v, want 0", name, want, rest)
	}
}

// seriesLabels turns `a="x",b="y"` into the name, value pairs testkit.Metric takes.
func seriesLabels(t *testing.T, series string) []string {
	t.Helper()
	var labels []string
	for pair := range strings.SplitSeq(series, ",") {
		if pair == "" {
			continue
		}
		name, quoted, ok := strings.Cut(pair, "=")
		value, err := strconv.Unquote(quoted)
		if !ok || err != nil {
			t.Fatalf("series %q: %q is not label=\"value\"", series, pair)
		}
		labels = append(labels, name, value)
	}
	return labels
}

// outcomes is a shorthand for the records_total series.
func outcomes(applied, duplicate, stale, deadLettered float64) map[string]float64 {
	return map[string]float64{
		`outcome="applied"`:       applied,
		`outcome="duplicate"`:     duplicate,
		`outcome="stale"`:         stale,
		`outcome="dead_lettered"`: deadLettered,
	}
}

const (
	mRecords     = "shardline_worker_records_total"
	mDeadLetters = "shardline_worker_dead_letters_total"
	mConflicts   = "shardline_worker_ledger_conflicts_total"
	mCheckpoints = "shardline_worker_checkpoints_total"
	mRetries     = "shardline_worker_retries_total"
	mStops       = "shardline_worker_shard_stops_total"
	mShards      = "shardline_worker_shards_processing"
	mBehind      = "shardline_worker_millis_behind_latest"
	mHandler     = "shardline_worker_handler_duration_seconds"
)

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func assertStrings(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !equalStrings(got, want) {
		t.Errorf("%s:\n got  %q\n want %q", what, got, want)
	}
}
