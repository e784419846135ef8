package ledger

import (
	"testing"
	"time"

	"github.com/shardline/shardline/internal/envelope"
)

func TestDecide(t *testing.T) {
	ev := func(seq string) envelope.Event {
		e, err := envelope.New("aws:s3", "ObjectCreated:Put", "in", "k.jpg", envelope.OpPut, seq, "", "", 1, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	entry := Entry{Object: "in/k.jpg", Sequencer: ev("0B").Sequencer, Epoch: 1}
	tests := []struct {
		name  string
		found bool
		epoch int64
		seq   string
		want  Decision
	}{
		{"no entry applies", false, 0, "01", Apply},
		{"newer sequencer applies", true, 1, "0C", Apply},
		{"longer newer sequencer applies", true, 1, "0B01", Apply},
		{"same sequencer is duplicate", true, 1, "0b", Duplicate},
		{"same sequencer padded is duplicate", true, 1, "0B000", Duplicate},
		{"older sequencer is stale", true, 1, "0A", Stale},
		{"older sequencer in a newer epoch applies", true, 2, "0A", Apply},
		{"same sequencer in a newer epoch applies", true, 2, "0B", Apply},
		{"newer sequencer in an older epoch is stale", true, 0, "0C", Stale},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Decide(entry, tc.found, tc.epoch, ev(tc.seq)); got != tc.want {
				t.Fatalf("Decide = %v, want %v", got, tc.want)
			}
		})
	}
}
