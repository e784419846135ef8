package awsretry

import (
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	tests := []struct {
		name      string
		base, max time.Duration
		attempt   int
		ceiling   time.Duration
	}{
		{"first retry", 100 * time.Millisecond, 5 * time.Second, 1, 100 * time.Millisecond},
		{"doubles", 100 * time.Millisecond, 5 * time.Second, 4, 800 * time.Millisecond},
		{"capped", 100 * time.Millisecond, 5 * time.Second, 10, 5 * time.Second},
		{"no overflow", time.Second, time.Minute, 200, time.Minute},
		{"base above max", time.Second, 10 * time.Millisecond, 1, 10 * time.Millisecond},
		{"zero", 0, 0, 3, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var largest time.Duration
			for range 1000 {
				d := Backoff(tc.base, tc.max, tc.attempt)
				if d < 0 || d > tc.ceiling {
					t.Fatalf("Backoff %s outside [0, %s]", d, tc.ceiling)
				}
				largest = max(largest, d)
			}
			if largest < tc.ceiling/2 {
				t.Errorf("largest of 1000 waits %s, not jittered up to %s", largest, tc.ceiling)
			}
		})
	}
}
