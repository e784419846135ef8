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
		{"older sequencer in a newer epoch is stale", true, 2, "0A", Stale},
		{"same sequencer in a newer epoch applies", true, 2, "0B", Apply},
		{"same sequencer in an older epoch is stale", true, 0, "0B", Stale},
		{"newer sequencer in an older epoch applies", true, 0, "0C", Apply},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Decide(entry, tc.found, tc.epoch, ev(tc.seq)); got != tc.want {
				t.Fatalf("Decide = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestEpochDoesNotOutrankSequencer is scenario 2 of issue 11: S3 does put S1, delete S2, put S3;
// notifications arrive S1, S3, S2, so S2 is dropped as stale. A partial reprocess with an epoch
// bump (or a worker that read the new epoch) must not let S2 apply and delete a live input's
// output: an epoch only re-applies the very event the ledger holds.
func TestEpochDoesNotOutrankSequencer(t *testing.T) {
	ev := func(op, seq string) envelope.Event {
		e, err := envelope.New("aws:s3", "x", "in", "k.jpg", op, seq, "", "", 1, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	s1, s2, s3 := ev(envelope.OpPut, "01"), ev(envelope.OpDelete, "02"), ev(envelope.OpPut, "03")
	var (
		entry Entry
		found bool
	)
	apply := func(ev envelope.Event, epoch int64) Decision {
		d := Decide(entry, found, epoch, ev)
		if d == Apply {
			entry, found = Entry{Object: ev.ObjectID(), Sequencer: ev.Sequencer, Epoch: epoch, Op: ev.Op}, true
		}
		return d
	}
	apply(s1, 0)
	apply(s3, 0)
	if d := apply(s2, 0); d != Stale {
		t.Fatalf("S2 after S3 in epoch 0: %v, want stale", d)
	}
	// Reprocess from a point after S1 with the epoch bumped to 1: the stream replays S3, S2.
	if d := apply(s3, 1); d != Apply {
		t.Fatalf("S3 replayed in epoch 1: %v, want apply (the epoch re-applies the ledger's event)", d)
	}
	if d := apply(s2, 1); d != Stale {
		t.Fatalf("S2 replayed in epoch 1: %v, want stale", d)
	}
	// A worker that read the new epoch before the replay reached S3 sees S2 first.
	entry = Entry{Object: s3.ObjectID(), Sequencer: s3.Sequencer, Epoch: 0, Op: s3.Op}
	if d := apply(s2, 1); d != Stale {
		t.Fatalf("S2 in epoch 1 against S3 of epoch 0: %v, want stale: the delete would remove a live input's output", d)
	}
	if entry.Sequencer != s3.Sequencer || entry.Op != envelope.OpPut {
		t.Fatalf("ledger moved to %+v", entry)
	}
}
