package processor

import (
	"bytes"
	"testing"

	"github.com/shardline/shardline/internal/envelope"
)

// The envelope contract (docs/envelope.md) seen from a worker: a field added within schema
// version 1 is optional, and a version 1 worker applies a record that carries one as it would
// the same record without it. A record of a version this worker does not know is dead-lettered
// with reason unknown_schema_version: TestDecodeFailures ("version 2", "version 0") and
// TestProcessRecordsScenarios ("unknown schema version") cover that.

// TestV1WorkerAppliesEnvelopeWithUnknownFields: records whose envelope carries fields this
// worker does not know (a scalar, an object, an array, null) are applied, not dead-lettered.
func TestV1WorkerAppliesEnvelopeWithUnknownFields(t *testing.T) {
	tests := []struct {
		name  string
		extra string // JSON members inserted at the start of the envelope
	}{
		{"a string", `"contentType":"image/jpeg",`},
		{"an object and an array", `"future":{"nested":[1,"two",{"three":3}]},"tags":["a","b"],`},
		{"null and a number", `"region":null,"priority":7.5,`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			ev := event(t, "a.jpg", envelope.OpPut, "0B")
			data, err := envelope.Encode(ev)
			if err != nil {
				t.Fatal(err)
			}
			extended := append([]byte("{"+tc.extra), bytes.TrimPrefix(data, []byte("{"))...)
			h.process(h.raw(extended, ev.PartitionKey()), h.put("b.jpg", "01"))

			assertStrings(t, "handler calls", h.handler.Calls(), calls(t, "put a.jpg@0B", "put b.jpg@01"))
			if got := h.handler.Events(); len(got) == 0 || got[0].ID != ev.ID || got[0].Key != ev.Key {
				t.Errorf("the handler got %+v, want the event %s of a.jpg", got, ev.ID)
			}
			if letters := h.dl.Letters(); len(letters) != 0 {
				t.Errorf("dead letters = %+v, want none", letters)
			}
			assertLedger(t, h.ledger, map[string]ledgerWant{
				"a.jpg": {"put", "0B", "applied", 0}, "b.jpg": {"put", "01", "applied", 0},
			})
			assertStrings(t, "checkpoints", h.cp.Calls(), seqNos(2))
			assertMetric(t, h.reg, mRecords, outcomes(2, 0, 0, 0))
		})
	}
}
