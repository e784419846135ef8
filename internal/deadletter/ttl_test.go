package deadletter

import (
	"testing"
	"time"
)

func TestExpiresAt(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	const day = 24 * time.Hour
	tests := []struct {
		name string
		at   time.Time
		ttl  time.Duration
		want time.Time // zero: never
	}{
		{"30 days", at, 30 * day, at.Add(30 * day)},
		{"fraction of a second rounds up", at.Add(time.Nanosecond), time.Hour, at.Add(time.Hour + time.Second)},
		{"0: never", at, 0, time.Time{}},
		{"negative: never", at, -day, time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := ExpiresAt(tc.at, tc.ttl)
			if ok != !tc.want.IsZero() || !got.Equal(tc.want) {
				t.Errorf("ExpiresAt = %s, %v; want %s", got, ok, tc.want)
			}
		})
	}
}

func TestWithTTL(t *testing.T) {
	s, err := New(&fakeDynamoDB{}, "t")
	if err != nil {
		t.Fatal(err)
	}
	if s.TTL() != 0 || s.WithTTL(time.Hour).TTL() != time.Hour || s.WithTTL(-1).TTL() != 0 {
		t.Fatal("WithTTL: want New's 0 left alone and the copy's TTL")
	}
}
