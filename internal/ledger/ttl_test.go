package ledger

import (
	"testing"
	"time"
)

func TestExpiresAt(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	const day = 24 * time.Hour
	tests := []struct {
		name string
		e    Entry
		ttl  time.Duration
		want time.Time // zero: never
	}{
		{"applied delete is a tombstone", Entry{Op: "delete", Outcome: OutcomeApplied, UpdatedAt: at}, 9 * day, at.Add(9 * day)},
		{"applied put lives", Entry{Op: "put", Outcome: OutcomeApplied, UpdatedAt: at}, 9 * day, time.Time{}},
		{"dead-lettered delete is kept (redrive needs it)", Entry{Op: "delete", Outcome: OutcomeDeadLettered, UpdatedAt: at}, 9 * day, time.Time{}},
		{"dead-lettered put is kept", Entry{Op: "put", Outcome: OutcomeDeadLettered, UpdatedAt: at}, 9 * day, time.Time{}},
		{"ttl 0: never", Entry{Op: "delete", Outcome: OutcomeApplied, UpdatedAt: at}, 0, time.Time{}},
		{"negative ttl: never", Entry{Op: "delete", Outcome: OutcomeApplied, UpdatedAt: at}, -time.Hour, time.Time{}},
		{"fraction of a second rounds up", Entry{Op: "delete", Outcome: OutcomeApplied, UpdatedAt: at.Add(time.Millisecond)}, time.Hour, at.Add(time.Hour + time.Second)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := ExpiresAt(tc.e, tc.ttl)
			if ok != !tc.want.IsZero() || !got.Equal(tc.want) {
				t.Errorf("ExpiresAt = %s, %v; want %s", got, ok, tc.want)
			}
			if _, ok := itemOf(Entry{ExpiresAt: got})[AttrExpiresAt]; ok != !tc.want.IsZero() {
				t.Errorf("item has %s: %v, want %v", AttrExpiresAt, ok, !tc.want.IsZero())
			}
		})
	}
}

func TestWithTombstoneTTL(t *testing.T) {
	l, err := New(&retriedAfterLostResponse{}, "t")
	if err != nil {
		t.Fatal(err)
	}
	withTTL := l.WithTombstoneTTL(time.Hour)
	if l.TombstoneTTL() != 0 || withTTL.TombstoneTTL() != time.Hour || l.WithTombstoneTTL(-1).TombstoneTTL() != 0 {
		t.Fatalf("TTLs %s, %s: want New's 0 left alone and the copy's 1h", l.TombstoneTTL(), withTTL.TombstoneTTL())
	}
}
