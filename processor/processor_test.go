package processor

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/shardline/shardline/internal/deadletter"
	"github.com/shardline/shardline/internal/envelope"
	"github.com/shardline/shardline/internal/ledger"
)

var (
	errThrottled = errors.New("SlowDown: please reduce your request rate")
	errNotImage  = errors.New("no supported image format recognised")
)

// ledgerWant is the expected ledger entry of testBucket/key (sequencer raw, normalised on check).
type ledgerWant struct {
	op, seq, outcome string
	epoch            int64
}

func assertLedger(t *testing.T, l *fakeLedger, want map[string]ledgerWant) {
	t.Helper()
	for key, w := range want {
		object := testBucket + "/" + key
		e, ok := l.entry(object)
		if !ok {
			t.Errorf("ledger %s: no entry, want %+v", object, w)
			continue
		}
		if e.Op != w.op || e.Sequencer != norm(t, w.seq) || e.Outcome != w.outcome || e.Epoch != w.epoch {
			t.Errorf("ledger %s = {op %s seq %s outcome %s epoch %d}, want {op %s seq %s outcome %s epoch %d}",
				object, e.Op, e.Sequencer, e.Outcome, e.Epoch, w.op, norm(t, w.seq), w.outcome, w.epoch)
		}
	}
	l.mu.Lock()
	n := len(l.entries)
	l.mu.Unlock()
	if n != len(want) {
		t.Errorf("ledger holds %d entries, want %d", n, len(want))
	}
}

// seqNos returns the harness' Kinesis sequence numbers of the given records (1-based).
func seqNos(ns ...int) []string {
	out := []string{}
	for _, n := range ns {
		out = append(out, seqNo(n))
	}
	return out
}

// calls builds expected handler calls from "op key@rawSeq" strings.
func calls(t *testing.T, specs ...string) []string {
	t.Helper()
	out := []string{}
	for _, s := range specs {
		opKey, seq, ok := strings.Cut(s, "@")
		op, key, ok2 := strings.Cut(opKey, " ")
		if !ok || !ok2 {
			t.Fatalf("bad call spec %q", s)
		}
		out = append(out, call(t, op, key, seq))
	}
	return out
}

// TestProcessRecordsScenarios drives whole batches through one processor and checks the handler
// calls, the ledger, the dead letters, the checkpoints and the outcome counters.
func TestProcessRecordsScenarios(t *testing.T) {
	permanentOnPutA := func(_ context.Context, ev envelope.Event, _ int) error {
		if ev.Key == "a.jpg" && ev.Op == envelope.OpPut {
			return Permanent("not_an_image", errNotImage)
		}
		return nil
	}
	type letterWant struct {
		reason string
		record int    // 1-based record number in the scenario
		object string // "" when the record did not decode
	}
	tests := []struct {
		name        string
		epoch       int64
		initial     []ledger.Entry // sequencers already normalised
		handler     func(ctx context.Context, ev envelope.Event, attempt int) error
		batches     func(h *harness) [][]types.Record
		wantCalls   []string // "op key@rawSeq"
		wantLedger  map[string]ledgerWant
		wantLetters []letterWant
		wantCPs     []int // checkpointed record numbers, in order
		wantOut     [4]float64
		wantReasons map[string]float64
	}{
		{
			name:       "put applied",
			batches:    func(h *harness) [][]types.Record { return [][]types.Record{{h.put("a.jpg", "0B")}} },
			wantCalls:  []string{"put a.jpg@0B"},
			wantLedger: map[string]ledgerWant{"a.jpg": {"put", "0B", "applied", 0}},
			wantCPs:    []int{1},
			wantOut:    [4]float64{1, 0, 0, 0},
		},
		{
			name: "several keys checkpoint at the last record",
			batches: func(h *harness) [][]types.Record {
				return [][]types.Record{{h.put("a.jpg", "01"), h.put("b.jpg", "02"), h.del("c.jpg", "03")}}
			},
			wantCalls: []string{"put a.jpg@01", "put b.jpg@02", "delete c.jpg@03"},
			wantLedger: map[string]ledgerWant{
				"a.jpg": {"put", "01", "applied", 0}, "b.jpg": {"put", "02", "applied", 0}, "c.jpg": {"delete", "03", "applied", 0},
			},
			wantCPs: []int{3},
			wantOut: [4]float64{3, 0, 0, 0},
		},
		{
			name: "one checkpoint per batch",
			batches: func(h *harness) [][]types.Record {
				return [][]types.Record{{h.put("a.jpg", "01"), h.put("b.jpg", "02")}, {}, {h.put("c.jpg", "03")}}
			},
			wantCalls: []string{"put a.jpg@01", "put b.jpg@02", "put c.jpg@03"},
			wantLedger: map[string]ledgerWant{
				"a.jpg": {"put", "01", "applied", 0}, "b.jpg": {"put", "02", "applied", 0}, "c.jpg": {"put", "03", "applied", 0},
			},
			wantCPs: []int{2, 3},
			wantOut: [4]float64{3, 0, 0, 0},
		},
		{
			name: "duplicate in one batch",
			batches: func(h *harness) [][]types.Record {
				return [][]types.Record{{h.put("a.jpg", "0B"), h.put("a.jpg", "0B")}}
			},
			wantCalls:  []string{"put a.jpg@0B"},
			wantLedger: map[string]ledgerWant{"a.jpg": {"put", "0B", "applied", 0}},
			wantCPs:    []int{2},
			wantOut:    [4]float64{1, 1, 0, 0},
		},
		{
			name: "duplicate across batches",
			batches: func(h *harness) [][]types.Record {
				return [][]types.Record{{h.put("a.jpg", "0B")}, {h.put("a.jpg", "0B")}}
			},
			wantCalls:  []string{"put a.jpg@0B"},
			wantLedger: map[string]ledgerWant{"a.jpg": {"put", "0B", "applied", 0}},
			wantCPs:    []int{1, 2},
			wantOut:    [4]float64{1, 1, 0, 0},
		},
		{
			name: "duplicate written with another case and padding",
			batches: func(h *harness) [][]types.Record {
				return [][]types.Record{{h.put("a.jpg", "0b"), h.put("a.jpg", "0B000")}}
			},
			wantCalls:  []string{"put a.jpg@0B"},
			wantLedger: map[string]ledgerWant{"a.jpg": {"put", "0B", "applied", 0}},
			wantCPs:    []int{2},
			wantOut:    [4]float64{1, 1, 0, 0},
		},
		{
			name: "duplicate delete",
			batches: func(h *harness) [][]types.Record {
				return [][]types.Record{{h.put("a.jpg", "01"), h.del("a.jpg", "02")}, {h.del("a.jpg", "02")}}
			},
			wantCalls:  []string{"put a.jpg@01", "delete a.jpg@02"},
			wantLedger: map[string]ledgerWant{"a.jpg": {"delete", "02", "applied", 0}},
			wantCPs:    []int{2, 3},
			wantOut:    [4]float64{2, 1, 0, 0},
		},
		{
			name: "newer then older put: older is stale",
			batches: func(h *harness) [][]types.Record {
				return [][]types.Record{{h.put("a.jpg", "0C"), h.put("a.jpg", "0B")}}
			},
			wantCalls:  []string{"put a.jpg@0C"},
			wantLedger: map[string]ledgerWant{"a.jpg": {"put", "0C", "applied", 0}},
			wantCPs:    []int{2},
			wantOut:    [4]float64{1, 0, 1, 0},
		},
		{
			name: "reordered across batches",
			batches: func(h *harness) [][]types.Record {
				return [][]types.Record{{h.put("a.jpg", "0C")}, {h.put("a.jpg", "0B")}}
			},
			wantCalls:  []string{"put a.jpg@0C"},
			wantLedger: map[string]ledgerWant{"a.jpg": {"put", "0C", "applied", 0}},
			wantCPs:    []int{1, 2},
			wantOut:    [4]float64{1, 0, 1, 0},
		},
		{
			name: "longer sequencer is later than its prefix",
			batches: func(h *harness) [][]types.Record {
				return [][]types.Record{{h.put("a.jpg", "0B01"), h.put("a.jpg", "0B")}}
			},
			wantCalls:  []string{"put a.jpg@0B01"},
			wantLedger: map[string]ledgerWant{"a.jpg": {"put", "0B01", "applied", 0}},
			wantCPs:    []int{2},
			wantOut:    [4]float64{1, 0, 1, 0},
		},
		{
			name: "shorter sequencer can be later (right-padded, not numeric)",
			batches: func(h *harness) [][]types.Record {
				return [][]types.Record{{h.put("a.jpg", "ff"), h.put("a.jpg", "0FFFFFFF")}}
			},
			wantCalls:  []string{"put a.jpg@FF"},
			wantLedger: map[string]ledgerWant{"a.jpg": {"put", "FF", "applied", 0}},
			wantCPs:    []int{2},
			wantOut:    [4]float64{1, 0, 1, 0},
		},
		{
			name: "in order with mixed case and lengths: both apply",
			batches: func(h *harness) [][]types.Record {
				return [][]types.Record{{h.put("a.jpg", "0a"), h.put("a.jpg", "0B"), h.put("a.jpg", "0b01")}}
			},
			wantCalls:  []string{"put a.jpg@0A", "put a.jpg@0B", "put a.jpg@0B01"},
			wantLedger: map[string]ledgerWant{"a.jpg": {"put", "0B01", "applied", 0}},
			wantCPs:    []int{3},
			wantOut:    [4]float64{3, 0, 0, 0},
		},
		{
			name: "keys are independent",
			batches: func(h *harness) [][]types.Record {
				return [][]types.Record{{h.put("a.jpg", "0C"), h.put("b.jpg", "01")}}
			},
			wantCalls:  []string{"put a.jpg@0C", "put b.jpg@01"},
			wantLedger: map[string]ledgerWant{"a.jpg": {"put", "0C", "applied", 0}, "b.jpg": {"put", "01", "applied", 0}},
			wantCPs:    []int{2},
			wantOut:    [4]float64{2, 0, 0, 0},
		},
		{
			name: "delete after put",
			batches: func(h *harness) [][]types.Record {
				return [][]types.Record{{h.put("a.jpg", "01"), h.del("a.jpg", "02")}}
			},
			wantCalls:  []string{"put a.jpg@01", "delete a.jpg@02"},
			wantLedger: map[string]ledgerWant{"a.jpg": {"delete", "02", "applied", 0}},
			wantCPs:    []int{2},
			wantOut:    [4]float64{2, 0, 0, 0},
		},
		{
			name: "re-put after delete",
			batches: func(h *harness) [][]types.Record {
				return [][]types.Record{{h.put("a.jpg", "01"), h.del("a.jpg", "02")}, {h.put("a.jpg", "03")}}
			},
			wantCalls:  []string{"put a.jpg@01", "delete a.jpg@02", "put a.jpg@03"},
			wantLedger: map[string]ledgerWant{"a.jpg": {"put", "03", "applied", 0}},
			wantCPs:    []int{2, 3},
			wantOut:    [4]float64{3, 0, 0, 0},
		},
		{
			name: "put older than a delete is stale",
			batches: func(h *harness) [][]types.Record {
				return [][]types.Record{{h.del("a.jpg", "02"), h.put("a.jpg", "01")}}
			},
			wantCalls:  []string{"delete a.jpg@02"},
			wantLedger: map[string]ledgerWant{"a.jpg": {"delete", "02", "applied", 0}},
			wantCPs:    []int{2},
			wantOut:    [4]float64{1, 0, 1, 0},
		},
		{
			name: "delete older than a put is stale",
			batches: func(h *harness) [][]types.Record {
				return [][]types.Record{{h.put("a.jpg", "02"), h.del("a.jpg", "01")}}
			},
			wantCalls:  []string{"put a.jpg@02"},
			wantLedger: map[string]ledgerWant{"a.jpg": {"put", "02", "applied", 0}},
			wantCPs:    []int{2},
			wantOut:    [4]float64{1, 0, 1, 0},
		},
		{
			name: "bad envelope is dead-lettered and the batch continues",
			batches: func(h *harness) [][]types.Record {
				return [][]types.Record{{h.put("a.jpg", "01"), h.raw([]byte("this is not JSON"), "inbox/x.jpg"), h.put("b.jpg", "02")}}
			},
			wantCalls: []string{"put a.jpg@01", "put b.jpg@02"},
			wantLedger: map[string]ledgerWant{
				"a.jpg": {"put", "01", "applied", 0}, "b.jpg": {"put", "02", "applied", 0},
			},
			wantLetters: []letterWant{{ReasonBadEnvelope, 2, ""}},
			wantCPs:     []int{3},
			wantOut:     [4]float64{2, 0, 0, 1},
			wantReasons: map[string]float64{ReasonBadEnvelope: 1},
		},
		{
			name: "bad envelope as the last record is checkpointed past",
			batches: func(h *harness) [][]types.Record {
				return [][]types.Record{{h.put("a.jpg", "01"), h.raw([]byte("{"), "inbox/x.jpg")}}
			},
			wantCalls:   []string{"put a.jpg@01"},
			wantLedger:  map[string]ledgerWant{"a.jpg": {"put", "01", "applied", 0}},
			wantLetters: []letterWant{{ReasonBadEnvelope, 2, ""}},
			wantCPs:     []int{2},
			wantOut:     [4]float64{1, 0, 0, 1},
			wantReasons: map[string]float64{ReasonBadEnvelope: 1},
		},
		{
			name: "unknown schema version",
			batches: func(h *harness) [][]types.Record {
				return [][]types.Record{{
					h.raw([]byte(`{"v":2,"id":"x","bucket":"in","key":"a.jpg","op":"put","sequencer":"0B"}`), "inbox/a.jpg"),
					h.put("a.jpg", "01"),
				}}
			},
			wantCalls:   []string{"put a.jpg@01"},
			wantLedger:  map[string]ledgerWant{"a.jpg": {"put", "01", "applied", 0}},
			wantLetters: []letterWant{{ReasonUnknownVersion, 1, ""}},
			wantCPs:     []int{2},
			wantOut:     [4]float64{1, 0, 0, 1},
			wantReasons: map[string]float64{ReasonUnknownVersion: 1},
		},
		{
			name:    "permanent handler error: dead-lettered, output removed, older events stale",
			handler: permanentOnPutA,
			batches: func(h *harness) [][]types.Record {
				return [][]types.Record{{h.put("a.jpg", "01"), h.put("b.jpg", "02"), h.put("a.jpg", "00FF")}}
			},
			// The handler removes the output of content it cannot convert; the processor only
			// checks it (Verify) after recording the dead letter.
			wantCalls: []string{"put a.jpg@01", "put b.jpg@02"},
			wantLedger: map[string]ledgerWant{
				"a.jpg": {"put", "01", "dead_lettered", 0}, "b.jpg": {"put", "02", "applied", 0},
			},
			wantLetters: []letterWant{{"not_an_image", 1, "inbox/a.jpg"}},
			wantCPs:     []int{3},
			wantOut:     [4]float64{1, 0, 1, 1},
			wantReasons: map[string]float64{"not_an_image": 1},
		},
		{
			name:    "newer delete applies after a dead letter",
			handler: permanentOnPutA,
			batches: func(h *harness) [][]types.Record {
				return [][]types.Record{{h.put("a.jpg", "01")}, {h.del("a.jpg", "02")}}
			},
			wantCalls:   []string{"put a.jpg@01", "delete a.jpg@02"},
			wantLedger:  map[string]ledgerWant{"a.jpg": {"delete", "02", "applied", 0}},
			wantLetters: []letterWant{{"not_an_image", 1, "inbox/a.jpg"}},
			wantCPs:     []int{1, 2},
			wantOut:     [4]float64{1, 0, 0, 1},
			wantReasons: map[string]float64{"not_an_image": 1},
		},
		{
			name: "permanent handler error on a delete: no second handler call",
			handler: func(_ context.Context, ev envelope.Event, _ int) error {
				if ev.Op == envelope.OpDelete {
					return Permanent("access_denied", errors.New("AccessDenied"))
				}
				return nil
			},
			batches: func(h *harness) [][]types.Record {
				return [][]types.Record{{h.put("a.jpg", "01"), h.del("a.jpg", "02")}}
			},
			wantCalls:   []string{"put a.jpg@01", "delete a.jpg@02"},
			wantLedger:  map[string]ledgerWant{"a.jpg": {"delete", "02", "dead_lettered", 0}},
			wantLetters: []letterWant{{"access_denied", 2, "inbox/a.jpg"}},
			wantCPs:     []int{2},
			wantOut:     [4]float64{1, 0, 0, 1},
			wantReasons: map[string]float64{"access_denied": 1},
		},
		{
			name:    "epoch bump does not re-apply an event older than the ledger's",
			epoch:   1,
			initial: []ledger.Entry{{Object: "inbox/a.jpg", Sequencer: "0C", Epoch: 0, Op: "put", Outcome: "applied"}},
			batches: func(h *harness) [][]types.Record {
				return [][]types.Record{{h.put("a.jpg", "0B"), h.put("a.jpg", "0B")}}
			},
			wantLedger: map[string]ledgerWant{"a.jpg": {"put", "0C", "applied", 0}},
			wantCPs:    []int{2},
			wantOut:    [4]float64{0, 0, 2, 0},
		},
		{
			name:    "epoch bump re-applies the ledger's event, then its duplicate is dropped",
			epoch:   1,
			initial: []ledger.Entry{{Object: "inbox/a.jpg", Sequencer: "0C", Epoch: 0, Op: "put", Outcome: "applied"}},
			batches: func(h *harness) [][]types.Record {
				return [][]types.Record{{h.put("a.jpg", "0C")}, {h.put("a.jpg", "0C")}}
			},
			wantCalls:  []string{"put a.jpg@0C"},
			wantLedger: map[string]ledgerWant{"a.jpg": {"put", "0C", "applied", 1}},
			wantCPs:    []int{1, 2},
			wantOut:    [4]float64{1, 1, 0, 0},
		},
		{
			name:    "epoch bump re-applies the same event",
			epoch:   3,
			initial: []ledger.Entry{{Object: "inbox/a.jpg", Sequencer: "0B", Epoch: 2, Op: "put", Outcome: "dead_lettered"}},
			batches: func(h *harness) [][]types.Record {
				return [][]types.Record{{h.put("a.jpg", "0B")}}
			},
			wantCalls:  []string{"put a.jpg@0B"},
			wantLedger: map[string]ledgerWant{"a.jpg": {"put", "0B", "applied", 3}},
			wantCPs:    []int{1},
			wantOut:    [4]float64{1, 0, 0, 0},
		},
		{
			name:    "same epoch and sequencer as the ledger is a duplicate",
			epoch:   1,
			initial: []ledger.Entry{{Object: "inbox/a.jpg", Sequencer: "0B", Epoch: 1, Op: "put", Outcome: "applied"}},
			batches: func(h *harness) [][]types.Record {
				return [][]types.Record{{h.put("a.jpg", "0B")}}
			},
			wantLedger: map[string]ledgerWant{"a.jpg": {"put", "0B", "applied", 1}},
			wantCPs:    []int{1},
			wantOut:    [4]float64{0, 1, 0, 0},
		},
		{
			name:    "a newer sequencer applies whatever the ledger entry's epoch",
			epoch:   0,
			initial: []ledger.Entry{{Object: "inbox/a.jpg", Sequencer: "0A", Epoch: 1, Op: "put", Outcome: "applied"}},
			batches: func(h *harness) [][]types.Record {
				return [][]types.Record{{h.put("a.jpg", "0B")}}
			},
			wantCalls:  []string{"put a.jpg@0B"},
			wantLedger: map[string]ledgerWant{"a.jpg": {"put", "0B", "applied", 0}},
			wantCPs:    []int{1},
			wantOut:    [4]float64{1, 0, 0, 0},
		},
		{
			name:    "the same sequencer in an older epoch than the ledger's is stale",
			epoch:   0,
			initial: []ledger.Entry{{Object: "inbox/a.jpg", Sequencer: "0B", Epoch: 1, Op: "put", Outcome: "applied"}},
			batches: func(h *harness) [][]types.Record {
				return [][]types.Record{{h.put("a.jpg", "0B")}}
			},
			wantLedger: map[string]ledgerWant{"a.jpg": {"put", "0B", "applied", 1}},
			wantCPs:    []int{1},
			wantOut:    [4]float64{0, 0, 1, 0},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.ledger.epoch = tc.epoch
			for _, e := range tc.initial {
				e.Sequencer = norm(t, e.Sequencer)
				h.ledger.set(e)
			}
			h.handler.fn = tc.handler
			var all []types.Record
			for _, batch := range tc.batches(h) {
				all = append(all, batch...)
				h.process(batch...)
			}

			assertStrings(t, "handler calls", h.handler.Calls(), calls(t, tc.wantCalls...))
			assertLedger(t, h.ledger, tc.wantLedger)
			assertStrings(t, "checkpoints", h.cp.Calls(), seqNos(tc.wantCPs...))

			letters := h.dl.Letters()
			if len(letters) != len(tc.wantLetters) {
				t.Fatalf("dead letters = %+v, want %d", letters, len(tc.wantLetters))
			}
			for i, w := range tc.wantLetters {
				got, rec := letters[i], all[w.record-1]
				if got.Reason != w.reason || got.SequenceNumber != seqNo(w.record) || got.Shard != testShard ||
					got.Object != w.object || got.PartitionKey != *rec.PartitionKey || !bytes.Equal(got.Data, rec.Data) ||
					got.Error == "" || got.Attempts != 1 {
					t.Errorf("dead letter %d = %+v, want reason %s record %d object %q with the raw data, an error and 1 attempt",
						i, got, w.reason, w.record, w.object)
				}
				if w.object != "" {
					ev, err := envelope.Decode(rec.Data)
					if err != nil || got.EventID != ev.ID {
						t.Errorf("dead letter %d EventID = %q, want %q (%v)", i, got.EventID, ev.ID, err)
					}
				} else if got.EventID != "" {
					t.Errorf("dead letter %d EventID = %q, want empty", i, got.EventID)
				}
			}

			assertMetric(t, h.reg, mRecords, outcomes(tc.wantOut[0], tc.wantOut[1], tc.wantOut[2], tc.wantOut[3]))
			reasons := map[string]float64{}
			for r, v := range tc.wantReasons {
				reasons[`reason="`+r+`"`] = v
			}
			assertMetric(t, h.reg, mDeadLetters, reasons)
			assertMetric(t, h.reg, mConflicts, map[string]float64{"": 0})
			assertMetric(t, h.reg, mRetries, map[string]float64{"": 0})
			if len(tc.wantCPs) > 0 {
				assertMetric(t, h.reg, mCheckpoints, map[string]float64{`result="ok"`: float64(len(tc.wantCPs))})
			}
			if got := h.leases.Revoked(); len(got) != 0 {
				t.Errorf("Revoke called for %v, want never", got)
			}
		})
	}
}

// TestAppliedEventDetails checks what the handler, the ledger and the metrics see of one event.
func TestAppliedEventDetails(t *testing.T) {
	h := newHarness(t)
	h.ledger.epoch = 4
	ev := event(t, "photos/cat 1.jpg", envelope.OpPut, "0062E5A7B1C2D3E4F5")
	h.process(h.record(ev))

	evs := h.handler.Events()
	if len(evs) != 1 {
		t.Fatalf("handler called %d times, want 1", len(evs))
	}
	got := evs[0]
	if got.ID != ev.ID || got.Bucket != ev.Bucket || got.Key != ev.Key || got.Op != ev.Op ||
		got.Sequencer != ev.Sequencer || got.ETag != ev.ETag || got.Size != ev.Size || !got.EventTime.Equal(ev.EventTime) {
		t.Errorf("handler got %+v, want %+v", got, ev)
	}
	commits := h.ledger.Commits()
	if len(commits) != 1 {
		t.Fatalf("ledger commits = %+v, want 1", commits)
	}
	c := commits[0]
	want := ledger.Entry{
		Object: "inbox/photos/cat 1.jpg", Sequencer: ev.Sequencer, Epoch: 4, Op: envelope.OpPut, Outcome: ledger.OutcomeApplied,
		EventID: ev.ID, SourceETag: ev.ETag, Worker: testWorker, Shard: testShard,
	}
	if c != want {
		t.Errorf("ledger commit = %+v, want %+v", c, want)
	}
	assertStrings(t, "checkpoints", h.cp.Calls(), seqNos(1))
	assertMetric(t, h.reg, mRecords, outcomes(1, 0, 0, 0))
	assertMetric(t, h.reg, mCheckpoints, map[string]float64{`result="ok"`: 1})
	assertMetric(t, h.reg, mBehind, map[string]float64{`shard="` + testShard + `"`: 1500})
	assertMetric(t, h.reg, mShards, map[string]float64{"": 1})
	assertMetric(t, h.reg, mHandler, map[string]float64{`op="put",result="ok"`: 1})
}

// TestDecodeFailures dead-letters every record that is not a valid envelope, with its raw bytes.
func TestDecodeFailures(t *testing.T) {
	valid := event(t, "a.jpg", envelope.OpPut, "0B")
	withField := func(field, value string) []byte {
		data, err := envelope.Encode(valid)
		if err != nil {
			t.Fatal(err)
		}
		altered := bytes.Replace(data, []byte(`"`+field+`":"`+fieldValue(valid, field)+`"`), []byte(`"`+field+`":`+value), 1)
		if bytes.Equal(altered, data) {
			t.Fatalf("field %s not found in %s", field, data)
		}
		return altered
	}
	tests := []struct {
		name   string
		data   []byte
		reason string
	}{
		{"not JSON", []byte("GIF89a\x00\x01"), ReasonBadEnvelope},
		{"empty", []byte{}, ReasonBadEnvelope},
		{"JSON array", []byte(`[1,2]`), ReasonBadEnvelope},
		{"missing version", []byte(`{"bucket":"in","key":"a.jpg"}`), ReasonBadEnvelope},
		{"unknown op", withField("op", `"copy"`), ReasonBadEnvelope},
		{"id does not match", withField("id", `"0000"`), ReasonBadEnvelope},
		{"sequencer not normalised", withField("sequencer", `"0b"`), ReasonBadEnvelope},
		{"version 2", []byte(`{"v":2,"bucket":"in","key":"a.jpg"}`), ReasonUnknownVersion},
		{"version 0", []byte(`{"v":0}`), ReasonUnknownVersion},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.process(h.raw(tc.data, "inbox/a.jpg"), h.put("b.jpg", "01"))

			letters := h.dl.Letters()
			if len(letters) != 1 {
				t.Fatalf("dead letters = %+v, want 1", letters)
			}
			l := letters[0]
			if l.Reason != tc.reason || !bytes.Equal(l.Data, tc.data) || l.SequenceNumber != seqNo(1) ||
				l.PartitionKey != "inbox/a.jpg" || l.Shard != testShard || l.Object != "" || l.Error == "" {
				t.Errorf("dead letter = %+v, want reason %s with the raw data of record 1", l, tc.reason)
			}
			assertStrings(t, "handler calls", h.handler.Calls(), calls(t, "put b.jpg@01"))
			assertStrings(t, "checkpoints", h.cp.Calls(), seqNos(2))
			assertMetric(t, h.reg, mRecords, outcomes(1, 0, 0, 1))
			assertMetric(t, h.reg, mDeadLetters, map[string]float64{`reason="` + tc.reason + `"`: 1})
			if n := len(h.ledger.Commits()); n != 1 {
				t.Errorf("ledger commits = %d, want 1 (an undecodable record has no object)", n)
			}
		})
	}
}

func fieldValue(ev envelope.Event, field string) string {
	switch field {
	case "op":
		return ev.Op
	case "id":
		return ev.ID
	case "sequencer":
		return ev.Sequencer
	}
	return ""
}

// TestTransientFailures retries transient failures with backoff and dead-letters a record only
// when its attempts are used up.
func TestTransientFailures(t *testing.T) {
	tests := []struct {
		name        string
		maxAttempts int
		setup       func(h *harness)
		records     func(h *harness) []types.Record
		wantCalls   []string
		wantLedger  map[string]ledgerWant
		wantOut     [4]float64
		wantRetries float64
		wantLetter  string // reason, "" for none
		wantTries   int    // Attempts of the letter
	}{
		{
			name: "handler succeeds on the 3rd attempt",
			setup: func(h *harness) {
				h.handler.fn = func(_ context.Context, ev envelope.Event, attempt int) error {
					if attempt < 3 {
						return errThrottled
					}
					return nil
				}
			},
			records:     func(h *harness) []types.Record { return []types.Record{h.put("a.jpg", "01"), h.put("b.jpg", "02")} },
			wantCalls:   []string{"put a.jpg@01", "put a.jpg@01", "put a.jpg@01", "put b.jpg@02", "put b.jpg@02", "put b.jpg@02"},
			wantLedger:  map[string]ledgerWant{"a.jpg": {"put", "01", "applied", 0}, "b.jpg": {"put", "02", "applied", 0}},
			wantOut:     [4]float64{2, 0, 0, 0},
			wantRetries: 4,
		},
		{
			name:        "handler fails forever: retries exhausted",
			maxAttempts: 4,
			setup: func(h *harness) {
				h.handler.fn = func(_ context.Context, ev envelope.Event, _ int) error {
					if ev.Op == envelope.OpPut && ev.Key == "a.jpg" {
						return errThrottled
					}
					return nil
				}
			},
			records: func(h *harness) []types.Record { return []types.Record{h.put("a.jpg", "01"), h.put("b.jpg", "02")} },
			wantCalls: []string{
				"put a.jpg@01", "put a.jpg@01", "put a.jpg@01", "put a.jpg@01", "put b.jpg@02",
			},
			wantLedger:  map[string]ledgerWant{"a.jpg": {"put", "01", "dead_lettered", 0}, "b.jpg": {"put", "02", "applied", 0}},
			wantOut:     [4]float64{1, 0, 0, 1},
			wantRetries: 3,
			wantLetter:  ReasonRetriesExhausted,
			wantTries:   4,
		},
		{
			name:        "delete fails forever: retries exhausted, no extra handler call",
			maxAttempts: 3,
			setup: func(h *harness) {
				h.handler.fn = func(_ context.Context, ev envelope.Event, _ int) error {
					if ev.Op == envelope.OpDelete {
						return errThrottled
					}
					return nil
				}
			},
			records:     func(h *harness) []types.Record { return []types.Record{h.del("a.jpg", "01")} },
			wantCalls:   []string{"delete a.jpg@01", "delete a.jpg@01", "delete a.jpg@01"},
			wantLedger:  map[string]ledgerWant{"a.jpg": {"delete", "01", "dead_lettered", 0}},
			wantOut:     [4]float64{0, 0, 0, 1},
			wantRetries: 2,
			wantLetter:  ReasonRetriesExhausted,
			wantTries:   3,
		},
		{
			name: "permanent error after transient ones stops retrying",
			setup: func(h *harness) {
				h.handler.fn = func(_ context.Context, ev envelope.Event, attempt int) error {
					if ev.Op == envelope.OpPut && attempt < 3 {
						return errThrottled
					}
					if ev.Op == envelope.OpPut {
						return Permanent("corrupt_image", errors.New("unexpected EOF"))
					}
					return nil
				}
			},
			records:     func(h *harness) []types.Record { return []types.Record{h.put("a.jpg", "01")} },
			wantCalls:   []string{"put a.jpg@01", "put a.jpg@01", "put a.jpg@01"},
			wantLedger:  map[string]ledgerWant{"a.jpg": {"put", "01", "dead_lettered", 0}},
			wantOut:     [4]float64{0, 0, 0, 1},
			wantRetries: 2,
			wantLetter:  "corrupt_image",
			wantTries:   3,
		},
		{
			name: "ledger read fails twice",
			setup: func(h *harness) {
				h.ledger.getErr = func(_ string, n int) error {
					if n <= 2 {
						return errors.New("ProvisionedThroughputExceededException")
					}
					return nil
				}
			},
			records:     func(h *harness) []types.Record { return []types.Record{h.put("a.jpg", "01")} },
			wantCalls:   []string{"put a.jpg@01"},
			wantLedger:  map[string]ledgerWant{"a.jpg": {"put", "01", "applied", 0}},
			wantOut:     [4]float64{1, 0, 0, 0},
			wantRetries: 2,
		},
		{
			name: "ledger commit fails once: the idempotent handler runs again",
			setup: func(h *harness) {
				h.ledger.commitErr = func(_ ledger.Entry, n int) error {
					if n == 1 {
						return errors.New("InternalServerError")
					}
					return nil
				}
			},
			records:     func(h *harness) []types.Record { return []types.Record{h.put("a.jpg", "01")} },
			wantCalls:   []string{"put a.jpg@01", "put a.jpg@01"},
			wantLedger:  map[string]ledgerWant{"a.jpg": {"put", "01", "applied", 0}},
			wantOut:     [4]float64{1, 0, 0, 0},
			wantRetries: 1,
		},
		{
			name: "dead_lettered commit fails once after a permanent error",
			setup: func(h *harness) {
				h.handler.fn = permanentPut("not_an_image")
				h.ledger.commitErr = func(_ ledger.Entry, n int) error {
					if n == 1 {
						return errors.New("InternalServerError")
					}
					return nil
				}
			},
			records:     func(h *harness) []types.Record { return []types.Record{h.put("a.jpg", "01")} },
			wantCalls:   []string{"put a.jpg@01"}, // the commit is retried, not the handler
			wantLedger:  map[string]ledgerWant{"a.jpg": {"put", "01", "dead_lettered", 0}},
			wantOut:     [4]float64{0, 0, 0, 1},
			wantRetries: 1,
			wantLetter:  "not_an_image",
			wantTries:   1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := Retry{MaxAttempts: tc.maxAttempts, Base: time.Millisecond, Max: 2 * time.Millisecond}
			if r.MaxAttempts == 0 {
				r.MaxAttempts = 5
			}
			h := newHarness(t, withRetry(r))
			tc.setup(h)
			recs := tc.records(h)
			h.process(recs...)

			assertStrings(t, "handler calls", h.handler.Calls(), calls(t, tc.wantCalls...))
			assertLedger(t, h.ledger, tc.wantLedger)
			assertStrings(t, "checkpoints", h.cp.Calls(), seqNos(len(recs)))
			assertMetric(t, h.reg, mRecords, outcomes(tc.wantOut[0], tc.wantOut[1], tc.wantOut[2], tc.wantOut[3]))
			assertMetric(t, h.reg, mRetries, map[string]float64{"": tc.wantRetries})
			letters := h.dl.Letters()
			if tc.wantLetter == "" {
				if len(letters) != 0 {
					t.Errorf("dead letters = %+v, want none", letters)
				}
				return
			}
			if len(letters) != 1 {
				t.Fatalf("dead letters = %+v, want 1", letters)
			}
			l := letters[0]
			if l.Reason != tc.wantLetter || l.Attempts != tc.wantTries || l.Object != "inbox/a.jpg" ||
				l.SequenceNumber != seqNo(1) || !bytes.Equal(l.Data, recs[0].Data) {
				t.Errorf("dead letter = %+v, want reason %s after %d attempts for record 1 of in/a.jpg", l, tc.wantLetter, tc.wantTries)
			}
			assertMetric(t, h.reg, mDeadLetters, map[string]float64{`reason="` + tc.wantLetter + `"`: 1})
		})
	}
}

// throttleKey is a handler fn that applies every event but those of key, which fail with
// errThrottled; just before attempt at of key fails, it calls then (a shutdown, a lost lease).
func throttleKey(key string, at int, then func()) func(context.Context, envelope.Event, int) error {
	return func(_ context.Context, ev envelope.Event, attempt int) error {
		if ev.Key != key {
			return nil
		}
		if attempt == at {
			then()
		}
		return errThrottled
	}
}

func permanentPut(reason string) func(context.Context, envelope.Event, int) error {
	return func(_ context.Context, ev envelope.Event, _ int) error {
		if ev.Op == envelope.OpPut {
			return Permanent(reason, errNotImage)
		}
		return nil
	}
}

// TestRetryExhaustedErrorText keeps the cause of the last failure in the dead letter.
func TestRetryExhaustedErrorText(t *testing.T) {
	h := newHarness(t, withRetry(Retry{MaxAttempts: 2, Base: time.Millisecond, Max: 2 * time.Millisecond}))
	h.handler.fn = func(context.Context, envelope.Event, int) error { return errThrottled }
	h.process(h.del("a.jpg", "01"))
	letters := h.dl.Letters()
	if len(letters) != 1 {
		t.Fatalf("dead letters = %+v, want 1", letters)
	}
	if e := letters[0].Error; !strings.Contains(e, "after 2 attempts") || !strings.Contains(e, errThrottled.Error()) {
		t.Errorf("dead letter error = %q, want the attempt count and the cause", e)
	}
}

// TestDeadLetterStoreRetries keeps retrying a failing dead-letter store, past MaxAttempts: a
// letter is never lost.
func TestDeadLetterStoreRetries(t *testing.T) {
	tests := []struct {
		name        string
		maxAttempts int
		failures    int
	}{
		{"fails twice", 5, 2},
		{"fails more often than MaxAttempts", 2, 6},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, withRetry(Retry{MaxAttempts: tc.maxAttempts, Base: time.Millisecond, Max: 2 * time.Millisecond}))
			h.handler.fn = permanentPut("not_an_image")
			h.dl.putErr = func(_ deadletter.Letter, n int) error {
				if n <= tc.failures {
					return errors.New("dead-letter table throttled")
				}
				return nil
			}
			h.process(h.put("a.jpg", "01"), h.put("b.jpg", "02"))

			if got, want := h.dl.Puts(), tc.failures+2; got != want {
				t.Errorf("dead-letter Put calls = %d, want %d", got, want)
			}
			letters := h.dl.Letters()
			if len(letters) != 2 {
				t.Fatalf("dead letters = %+v, want 2", letters)
			}
			for i, l := range letters {
				if l.Reason != "not_an_image" || l.SequenceNumber != seqNo(i+1) || l.Attempts != 1 {
					t.Errorf("dead letter %d = %+v, want the not_an_image letter of record %d", i, l, i+1)
				}
			}
			assertStrings(t, "handler calls", h.handler.Calls(),
				calls(t, "put a.jpg@01", "put b.jpg@02"))
			assertLedger(t, h.ledger, map[string]ledgerWant{
				"a.jpg": {"put", "01", "dead_lettered", 0}, "b.jpg": {"put", "02", "dead_lettered", 0},
			})
			assertStrings(t, "checkpoints", h.cp.Calls(), seqNos(2))
			assertMetric(t, h.reg, mRecords, outcomes(0, 0, 0, 2))
			assertMetric(t, h.reg, mRetries, map[string]float64{"": float64(tc.failures)})
			assertMetric(t, h.reg, mDeadLetters, map[string]float64{`reason="not_an_image"`: 2})
		})
	}
}
