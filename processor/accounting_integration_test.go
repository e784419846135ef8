package processor_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/shardline/shardline/internal/awsclients"
	"github.com/shardline/shardline/internal/deadletter"
	"github.com/shardline/shardline/internal/envelope"
	"github.com/shardline/shardline/internal/forwarder"
	"github.com/shardline/shardline/internal/grayscale"
	"github.com/shardline/shardline/internal/lab/pipelinetest"
	"github.com/shardline/shardline/internal/lab/testkit"
	"github.com/shardline/shardline/processor"
)

// hostileStack is a forwarder webhook (with a token) and a worker on pipelinetest's resources,
// with the names and registries the hostile-input tests inspect.
type hostileStack struct {
	t                     *testing.T
	p                     *pipelinetest.Pipeline
	c                     awsclients.Clients
	input, output, stream string
	deadLetters           *deadletter.Store
	workerReg, fwdReg     *prometheus.Registry // workerReg: from start on
	webhook, token        string
	worker                *pipelinetest.Worker // see start
	// streamRecords counts the records put on the stream (by the forwarder or directly), posted
	// the notification records posted to the webhook with the right token.
	streamRecords, posted int
}

const testMaxObjectBytes = 64 << 10

func newHostileStack(t *testing.T, shards int32) *hostileStack {
	t.Helper()
	p := pipelinetest.New(t, shards)
	s := &hostileStack{t: t, p: p, c: p.Clients, input: p.Input, output: p.Output, stream: p.Stream,
		fwdReg: prometheus.NewRegistry(), token: "hostile-test-token"}
	dl, err := deadletter.New(p.Clients.DynamoDB, p.DeadLetters)
	if err != nil {
		t.Fatal(err)
	}
	s.deadLetters = dl

	// A writer of its own, to count the forwarder's records on fwdReg.
	w, err := forwarder.NewWriter(forwarder.WriterConfig{Client: p.Clients.Kinesis, StreamName: p.Stream, Registerer: s.fwdReg})
	if err != nil {
		t.Fatal(err)
	}
	f, err := forwarder.New(forwarder.Config{Writer: w, Token: s.token, Registerer: s.fwdReg, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(f.Webhook())
	t.Cleanup(srv.Close)
	s.webhook = srv.URL + "/webhook"
	return s
}

// start starts the processor. Records put before it starts are read in one GetRecords batch per
// shard, which makes the batch-dependent outcomes (superseded) deterministic.
func (s *hostileStack) start() {
	s.t.Helper()
	s.worker = s.p.StartWorker(pipelinetest.WorkerOptions{ID: "hostile-worker",
		Grayscale: grayscale.Config{MaxBytes: testMaxObjectBytes}})
	s.workerReg = s.worker.Registry
	s.t.Cleanup(func() {
		if err := s.stop(); err != nil {
			s.t.Errorf("worker shutdown: %v", err)
		}
	})
}

// stop shuts the worker down gracefully; after it the worker's metrics no longer change.
func (s *hostileStack) stop() error { return s.worker.Stop() }

// putObject writes an input object and returns its ETag without quotes.
func (s *hostileStack) putObject(key string, data []byte) string {
	s.t.Helper()
	out, err := s.c.S3.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(s.input), Key: aws.String(key), Body: bytes.NewReader(data),
	})
	if err != nil {
		s.t.Fatalf("put s3://%s/%s: %v", s.input, key, err)
	}
	return strings.Trim(aws.ToString(out.ETag), `"`)
}

func (s *hostileStack) deleteObject(key string) {
	s.t.Helper()
	if _, err := s.c.S3.DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String(s.input), Key: aws.String(key)}); err != nil {
		s.t.Fatal(err)
	}
}

// record is one S3 event record for post; the key is URL-encoded the way S3 sends it.
func (s *hostileStack) record(eventName, key, sequencer string) map[string]any {
	obj := map[string]any{"key": url.QueryEscape(key), "size": 1}
	if sequencer != "" {
		obj["sequencer"] = sequencer
	}
	return map[string]any{
		"eventVersion": "2.1", "eventSource": "aws:s3", "eventName": eventName,
		"eventTime": time.Now().UTC().Format(time.RFC3339Nano),
		"s3":        map[string]any{"bucket": map[string]any{"name": s.input}, "object": obj},
	}
}

// post sends a raw body to the webhook and returns the status and the forwarded count.
func (s *hostileStack) post(authorization string, body []byte) (int, int) {
	s.t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.webhook, bytes.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Forwarded int }
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &out)
	return resp.StatusCode, out.Forwarded
}

// notify posts one authenticated notification with the given records, expects 200 and counts
// the records posted and forwarded.
func (s *hostileStack) notify(recs ...map[string]any) {
	s.t.Helper()
	if len(recs) == 1 && recs[0]["Event"] != nil { // s3:TestEvent, not a Records body
		body, _ := json.Marshal(recs[0])
		s.expectOK(body, 1)
		return
	}
	body, _ := json.Marshal(map[string]any{"Records": recs})
	s.expectOK(body, len(recs))
}

func (s *hostileStack) expectOK(body []byte, records int) {
	s.t.Helper()
	status, forwarded := s.post("Bearer "+s.token, body)
	if status != http.StatusOK {
		s.t.Fatalf("webhook answered %d to %s", status, body)
	}
	s.posted += records
	s.streamRecords += forwarded
}

// putRaw puts a record straight into the stream, bypassing the forwarder.
func (s *hostileStack) putRaw(partitionKey string, data []byte) {
	s.t.Helper()
	if _, err := s.c.Kinesis.PutRecord(context.Background(), &kinesis.PutRecordInput{
		StreamName: aws.String(s.stream), PartitionKey: aws.String(partitionKey), Data: data,
	}); err != nil {
		s.t.Fatal(err)
	}
	s.streamRecords++
}

// outcomes returns shardline_worker_records_total by outcome label, for every outcome the
// processor defines, and under "other outcomes" what any further label adds up to (an outcome
// the accounting does not know yet).
func outcomes(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	const name = "shardline_worker_records_total"
	out := map[string]float64{}
	rest := testkit.Metric(t, reg, name)
	for _, o := range []string{processor.OutcomeApplied, processor.OutcomeDuplicate, processor.OutcomeStale,
		processor.OutcomeSuperseded, processor.OutcomeDeadLettered} {
		out[o] = testkit.Metric(t, reg, name, "outcome", o)
		rest -= out[o]
	}
	if rest != 0 {
		out["other outcomes"] = rest
	}
	return out
}

// outputETag returns the output's source-etag metadata, or "" when there is no output.
func (s *hostileStack) outputETag(key string) string { return s.p.OutputOf(key).SourceETag }

// TestAccountingMixedBatch is the accounting check of issue #4. A mixed batch of good and bad
// inputs goes through the forwarder webhook (and, for records the forwarder would never write,
// straight into Kinesis) to a worker; afterwards every record on the stream is accounted for
// exactly once, in exactly one outcome:
//
//	applied + duplicate + stale + superseded + dead_lettered == records put on the stream
//
// Each category is summed from an explicit list and has a non-zero expected count, so dropping
// any one from the sum (or a record from its category) fails the test; an outcome label the list
// does not know (a new category) fails it too, until the list learns it. The dead letters are
// checked one by one against the dead-letter table, with their reasons. On the forwarder side,
// every notification record posted is either forwarded or skipped with a reason, and an
// unauthenticated request changes nothing.
//
// The batch goes in two phases so that every outcome is deterministic: phase 1 is on the stream
// before the worker starts, so each shard reads it in one GetRecords batch (where an object's
// older events are superseded by its latest); phase 2 is sent once phase 1 is accounted for, so
// its events meet the ledger (duplicates and stale events).
func TestAccountingMixedBatch(t *testing.T) {
	s := newHostileStack(t, 2)
	seq := func(n int) string { return fmt.Sprintf("%016X", n) }

	// Phase 1, before the worker starts.
	// Good JPEGs: applied. A key with a space, '+' and unicode is URL-encoded by record().
	etagA := s.putObject("good/a.jpg", testJPEG(t, 10))
	etagC := s.putObject("good/c.jpg", testJPEG(t, 30))
	s.notify(s.record("ObjectCreated:Put", "good/a.jpg", seq(10)))
	// b is put twice; both events come in one batch, so the older one is superseded.
	s.putObject("good/b +ü.jpg", testJPEG(t, 20))
	s.notify(s.record("ObjectCreated:Put", "good/b +ü.jpg", seq(10)), s.record("ObjectCreated:Put", "good/c.jpg", seq(10)))
	etagB := s.putObject("good/b +ü.jpg", testJPEG(t, 25))
	s.notify(s.record("ObjectCreated:Put", "good/b +ü.jpg", seq(20)))
	// An object that vanished before the worker read it: the put applies by removing any output.
	s.putObject("gone/vanished.jpg", testJPEG(t, 40))
	s.deleteObject("gone/vanished.jpg")
	s.notify(s.record("ObjectCreated:Put", "gone/vanished.jpg", seq(10)))
	// Bad inputs: dead-lettered with the handler's reason, each once.
	jpg := testJPEG(t, 50)
	badObjects := map[string][]byte{
		"bad/notes.txt":     []byte("this is a text file, not an image\n"),
		"bad/truncated.jpg": jpg[:len(jpg)/2],
		"bad/bomb.png":      bombPNG(100000, 100000),
		"bad/empty.jpg":     {},
		"bad/huge.jpg":      append(bytes.Clone(jpg), make([]byte, testMaxObjectBytes)...),
	}
	for key, data := range badObjects {
		s.putObject(key, data)
	}
	s.notify(
		s.record("ObjectCreated:Put", "bad/notes.txt", seq(10)),
		s.record("ObjectCreated:Put", "bad/truncated.jpg", seq(10)),
		s.record("ObjectCreated:Put", "bad/bomb.png", seq(10)),
		s.record("ObjectCreated:Put", "bad/empty.jpg", seq(10)),
		s.record("ObjectCreated:Put", "bad/huge.jpg", seq(10)),
	)
	// Records the forwarder never writes, put straight into the stream: not an envelope, and an
	// envelope of an unknown schema version.
	garbage := []byte("not an envelope: hello from another producer")
	s.putRaw("raw/garbage", garbage)
	v2, err := envelope.New("aws:s3", "ObjectCreated:Put", s.input, "future/x.jpg", envelope.OpPut, seq(10), "", "", 1, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	v2Data, _ := envelope.Encode(v2)
	v2Data = bytes.Replace(v2Data, []byte(`"v":1`), []byte(`"v":2`), 1)
	s.putRaw(v2.PartitionKey(), v2Data)
	// Forwarder-side skips: never reach the stream, counted by reason.
	s.notify(map[string]any{"Service": "Amazon S3", "Event": "s3:TestEvent", "Time": "2026-01-01T00:00:00Z", "Bucket": s.input})
	s.notify(s.record("ObjectCreated:Put", "skip/nonhex.jpg", "00XYZ"), s.record("ObjectCreated:Put", "skip/noseq.jpg", ""))
	// Unauthenticated: 401, nothing forwarded, nothing counted as posted.
	if status, _ := s.post("Bearer wrong", mustJSON(t, map[string]any{"Records": []any{s.record("ObjectCreated:Put", "good/a.jpg", seq(99))}})); status != http.StatusUnauthorized {
		t.Fatalf("unauthenticated request answered %d, want 401", status)
	}

	// Wait on every outcome label, not just the listed ones, so that a category missing from the
	// list fails the assertions below rather than the wait.
	accounted := func() float64 {
		sum := 0.0
		for _, n := range outcomes(t, s.workerReg) {
			sum += n
		}
		return sum
	}
	s.start()
	phase1 := s.streamRecords
	testkit.Eventually(t, 90*time.Second, 100*time.Millisecond, func() bool { return accounted() >= float64(phase1) },
		"worker accounted for fewer than the %d records of phase 1", phase1)

	// Phase 2: the same event of a twice more (duplicates), and an event of b older than the
	// one applied (stale; the sequencer in lower case, as some producers send it).
	s.notify(s.record("ObjectCreated:Put", "good/a.jpg", seq(10)))
	s.notify(s.record("ObjectCreated:Put", "good/a.jpg", seq(10)))
	s.notify(s.record("ObjectCreated:Put", "good/b +ü.jpg", strings.ToLower(seq(15))))

	// What every record on the stream must end as.
	wantOutcomes := map[string]float64{
		processor.OutcomeApplied:      4, // a, c, b@20, vanished
		processor.OutcomeSuperseded:   1, // b@10, in the same batch as b@20
		processor.OutcomeDuplicate:    2, // a@10 twice more
		processor.OutcomeStale:        1, // b@15 after b@20 was applied
		processor.OutcomeDeadLettered: 7, // 5 bad objects, garbage, v2
	}
	categories := []string{processor.OutcomeApplied, processor.OutcomeDuplicate, processor.OutcomeStale,
		processor.OutcomeSuperseded, processor.OutcomeDeadLettered}
	for _, c := range categories {
		if wantOutcomes[c] == 0 {
			t.Fatalf("category %q has no case in the batch: the test could not notice it being dropped", c)
		}
	}
	if s.streamRecords != 15 {
		t.Fatalf("%d records put on the stream, want 15: the batch changed without updating the expectations", s.streamRecords)
	}
	testkit.Eventually(t, 90*time.Second, 100*time.Millisecond, func() bool { return accounted() >= float64(s.streamRecords) },
		"worker accounted for fewer than %d records", s.streamRecords)
	// Stop the worker: a record counted twice, or late, would show after this point.
	if err := s.stop(); err != nil {
		t.Fatalf("worker shutdown: %v", err)
	}

	got := outcomes(t, s.workerReg)
	t.Logf("worker outcomes %v for %d stream records", got, s.streamRecords)
	for label, n := range got {
		if !slices.Contains(categories, label) && n != 0 {
			t.Errorf("outcome %q (%v records) is not in the accounting's category list", label, n)
		}
	}
	sum := 0.0
	for _, c := range categories {
		sum += got[c]
		if got[c] != wantOutcomes[c] {
			t.Errorf("records %s = %v, want %v", c, got[c], wantOutcomes[c])
		}
	}
	if sum != float64(s.streamRecords) {
		t.Errorf("sum over %v = %v, want the %d records put on the stream", categories, sum, s.streamRecords)
	}

	// Dead letters: one per dead-lettered record, with the reason, the object and the raw record.
	letters, err := s.deadLetters.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	wantLetters := map[string]string{ // object (or raw partition key) -> reason
		s.input + "/bad/notes.txt":     grayscale.ReasonNotAnImage,
		s.input + "/bad/truncated.jpg": grayscale.ReasonCorruptImage,
		s.input + "/bad/bomb.png":      grayscale.ReasonTooManyPixels,
		s.input + "/bad/empty.jpg":     grayscale.ReasonEmptyObject,
		s.input + "/bad/huge.jpg":      grayscale.ReasonTooLarge,
		"raw/garbage":                  processor.ReasonBadEnvelope,
		v2.PartitionKey():              processor.ReasonUnknownVersion,
	}
	gotLetters := map[string]string{}
	for _, l := range letters {
		id := l.Object
		if id == "" {
			id = l.PartitionKey
		}
		if _, dup := gotLetters[id]; dup {
			t.Errorf("two dead letters for %s", id)
		}
		gotLetters[id] = l.Reason
		if l.Error == "" || l.Shard == "" || l.SequenceNumber == "" || len(l.Data) == 0 {
			t.Errorf("dead letter %s lacks its error, shard, sequence number or data: %+v", id, l)
		}
		switch id {
		case "raw/garbage":
			if !bytes.Equal(l.Data, garbage) {
				t.Errorf("dead letter of the raw record holds %q, want the record as put", l.Data)
			}
		case v2.PartitionKey():
			if !bytes.Equal(l.Data, v2Data) {
				t.Errorf("dead letter of the v2 record holds %q, want the record as put", l.Data)
			}
		}
	}
	if fmt.Sprint(gotLetters) != fmt.Sprint(wantLetters) {
		t.Errorf("dead letters (object -> reason):\n got %v\nwant %v", gotLetters, wantLetters)
	}
	if float64(len(letters)) != got[processor.OutcomeDeadLettered] {
		t.Errorf("%d dead letters stored, %v counted", len(letters), got[processor.OutcomeDeadLettered])
	}
	for _, reason := range wantLetters {
		if n := testkit.Metric(t, s.workerReg, "shardline_worker_dead_letters_total", "reason", reason); n != 1 {
			t.Errorf("shardline_worker_dead_letters_total{reason=%q} = %v, want 1", reason, n)
		}
	}

	// Outputs: the good inputs' current content, nothing for the rest.
	for key, want := range map[string]string{
		"good/a.jpg": etagA, "good/b +ü.jpg": etagB, "good/c.jpg": etagC, "gone/vanished.jpg": "",
		"bad/notes.txt": "", "bad/truncated.jpg": "", "bad/bomb.png": "", "bad/empty.jpg": "", "bad/huge.jpg": "",
	} {
		if got := s.outputETag(key); got != want {
			t.Errorf("output %q: source-etag %q, want %q (empty = no output)", key, got, want)
		}
	}

	// Forwarder side: every record posted was forwarded or skipped with a reason.
	forwarded := testkit.Metric(t, s.fwdReg, "shardline_forwarder_records_forwarded_total")
	skipped := map[string]float64{}
	for _, r := range []string{"test_event", "invalid_sequencer", "no_sequencer"} {
		skipped[r] = testkit.Metric(t, s.fwdReg, "shardline_forwarder_events_skipped_total", "reason", r)
		if skipped[r] != 1 {
			t.Errorf("forwarder skipped %v records as %s, want 1", skipped[r], r)
		}
	}
	if forwarded+skipped["test_event"]+skipped["invalid_sequencer"]+skipped["no_sequencer"] != float64(s.posted) {
		t.Errorf("forwarded %v + skipped %v != %d notification records posted", forwarded, skipped, s.posted)
	}
	if n := testkit.Metric(t, s.fwdReg, "shardline_forwarder_requests_total", "result", "unauthorized"); n != 1 {
		t.Errorf("unauthorized requests = %v, want 1", n)
	}
}

// bombPNG is a decompression bomb as it looks before its pixel data: a valid PNG signature and
// IHDR chunk declaring w×h 8-bit RGBA pixels, then IEND.
func bombPNG(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		_ = binary.Write(&b, binary.BigEndian, uint32(len(data)))
		crc := crc32.NewIEEE()
		crc.Write([]byte(typ))
		crc.Write(data)
		b.WriteString(typ)
		b.Write(data)
		_ = binary.Write(&b, binary.BigEndian, crc.Sum32())
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 6
	chunk("IHDR", ihdr)
	chunk("IEND", nil)
	return b.Bytes()
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
