package sequencer

import (
	"errors"
	"strings"
	"testing"
)

func TestSynthetic(t *testing.T) {
	norm := func(s string) string {
		t.Helper()
		n, err := Normalize(s)
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
		{"after a raw (unnormalised) real sequencer", "0062e5e4c5d8b3a9d1", "0062E5E4C5D8B3A9D100000000000001"},
		{"after an earlier synthetic one", "0062E5E4C5D8B3A9D100000000000001", "0062E5E4C5D8B3A9D100000000000002"},
		{"carries within the synthetic zone", "0062E5E4C5D8B3A9D1000000000000FF", "0062E5E4C5D8B3A9D100000000000100"},
		{"9 then A", "0062E5E4C5D8B3A9D100000000000009", "0062E5E4C5D8B3A9D10000000000000A"},
		{"24 real digits", "0062E5E4C5D8B3A9D1ABCDEF", "0062E5E4C5D8B3A9D1ABCDEF00000001"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Synthetic(tc.last)
			if err != nil || got != tc.want {
				t.Fatalf("Synthetic(%q) = %q, %v; want %q", tc.last, got, err, tc.want)
			}
			if tc.last != "" && !(norm(tc.last) < got) {
				t.Fatalf("%s does not sort after %s", got, tc.last)
			}
		})
	}
	if first, _ := Synthetic(""); first != FirstSynthetic || len(FirstSynthetic) != Width {
		t.Fatalf("Synthetic(\"\") = %q, FirstSynthetic = %q (want %d digits)", first, FirstSynthetic, Width)
	}
}

// TestSyntheticSortsBeforeLaterRealEvents: the next real event of the key sorts after the
// synthetic one, whatever its length (up to RealDigits digits), and after FirstSynthetic too.
func TestSyntheticSortsBeforeLaterRealEvents(t *testing.T) {
	last, _ := Normalize("0062E5E4C5D8B3A9D1")
	repair, err := Synthetic(last)
	if err != nil {
		t.Fatal(err)
	}
	for _, next := range []string{"0062E5E4C5D8B3A9D2", "0062E5E4C5D8B3A9D101", "0062E5E4C5D8B3A9D1000000000001", "0062E5E4C5D8B3AA", "1"} {
		if c, err := Compare(repair, next); err != nil || c >= 0 {
			t.Errorf("real event %s would be stale after the synthetic %s (Compare = %d, %v)", next, repair, c, err)
		}
		if c, err := Compare(FirstSynthetic, next); err != nil || c >= 0 {
			t.Errorf("real event %s would be stale after FirstSynthetic (Compare = %d, %v)", next, c, err)
		}
	}
}

func TestSyntheticErrors(t *testing.T) {
	tests := []struct {
		name, last string
		want       error
	}{
		{"synthetic zone exhausted", "0062E5E4C5D8B3A9D1000000FFFFFFFF", ErrNoRoom},
		{"frozen key (every digit F)", strings.Repeat("F", Width), ErrNoRoom},
		{"not hex", "00XY", ErrInvalid},
		{"too long", strings.Repeat("0", Width+1), ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Synthetic(tc.last)
			if !errors.Is(err, tc.want) || got != "" {
				t.Fatalf("Synthetic(%q) = %q, %v; want an error wrapping %v", tc.last, got, err, tc.want)
			}
		})
	}
}
