package ledger

import "testing"

func TestReopenDecision(t *testing.T) {
	const seq, id = "0B", "ev-b"
	dl := Entry{Sequencer: seq, EventID: id, Outcome: OutcomeDeadLettered, Epoch: 3}
	with := func(f func(*Entry)) Entry {
		e := dl
		f(&e)
		return e
	}
	tests := []struct {
		name      string
		e         Entry
		found     bool
		want      ReopenResult
		wantWrite bool
	}{
		{"no entry: the dead-lettering has not committed", Entry{}, false, Pending, false},
		{"an older event: the dead-lettering has not committed", with(func(e *Entry) { e.Sequencer = "0A"; e.Outcome = OutcomeApplied }), true, Pending, false},
		{"the dead-lettered event: lower its epoch", dl, true, Reopened, true},
		{"already reopened", with(func(e *Entry) { e.Reopened = true; e.Epoch = 2 }), true, Reopened, false},
		{"a newer event", with(func(e *Entry) { e.Sequencer = "0C" }), true, Superseded, false},
		{"the event was applied", with(func(e *Entry) { e.Outcome = OutcomeApplied }), true, Superseded, false},
		{"another event with the same sequencer", with(func(e *Entry) { e.EventID = "other" }), true, Superseded, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, write := reopenDecision(tc.e, tc.found, id, seq)
			if got != tc.want || write != tc.wantWrite {
				t.Fatalf("reopenDecision = %v, write %v; want %v, write %v", got, write, tc.want, tc.wantWrite)
			}
		})
	}
}
