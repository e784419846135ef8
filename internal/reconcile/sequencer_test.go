package reconcile

import (
	"errors"
	"testing"

	"github.com/shardline/shardline/internal/sequencer"
)

func TestSyntheticSequencer(t *testing.T) {
	norm := func(s string) string {
		n, err := sequencer.Normalize(s)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	tests := []struct {
		name, last, want string
	}{
		{"no entry: below every real sequencer", "", "00000000000000000000000000000001"},
		{"after a real sequencer", norm("0062E5E4C5D8B3A9D1"), "0062E5E4C5D8B3A9D100000000000001"},
		{"after an earlier repair", "0062E5E4C5D8B3A9D100000000000001", "0062E5E4C5D8B3A9D100000000000002"},
		{"carries within the repair zone", "0062E5E4C5D8B3A9D1000000000000FF", "0062E5E4C5D8B3A9D100000000000100"},
		{"9 then A", "0062E5E4C5D8B3A9D100000000000009", "0062E5E4C5D8B3A9D10000000000000A"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := SyntheticSequencer(tc.last)
			if err != nil || got != tc.want {
				t.Fatalf("SyntheticSequencer(%q) = %q, %v; want %q", tc.last, got, err, tc.want)
			}
			if tc.last != "" && !(tc.last < got) {
				t.Fatalf("%s does not sort after %s", got, tc.last)
			}
		})
	}
	// The next real event of the key sorts after the repair, whatever its length (≤ 24 digits).
	last := norm("0062E5E4C5D8B3A9D1")
	repair, _ := SyntheticSequencer(last)
	for _, next := range []string{"0062E5E4C5D8B3A9D2", "0062E5E4C5D8B3A9D101", "0062E5E4C5D8B3A9D1000000000001", "0062E5E4C5D8B3AA"} {
		if n := norm(next); !(repair < n) {
			t.Errorf("real event %s (%s) would be stale after the repair %s", next, n, repair)
		}
	}
	if _, err := SyntheticSequencer("0062E5E4C5D8B3A9D1000000FFFFFFFF"); !errors.Is(err, ErrNoRoom) {
		t.Fatalf("exhausted zone: %v", err)
	}
}
