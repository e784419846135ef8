package quiesce

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestEvery(t *testing.T) {
	errStop := errors.New("stop")
	t.Run("returns fn's error", func(t *testing.T) {
		calls := 0
		err := Every(t.Context(), time.Millisecond, func() error {
			calls++
			if calls == 3 {
				return errStop
			}
			return nil
		})
		if !errors.Is(err, errStop) || calls != 3 {
			t.Fatalf("Every = %v after %d calls, want %v after 3", err, calls, errStop)
		}
	})
	t.Run("returns nil when ctx ends", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		calls := 0
		err := Every(ctx, time.Millisecond, func() error {
			calls++
			if calls == 2 {
				cancel()
			}
			return nil
		})
		if err != nil || calls < 2 {
			t.Fatalf("Every = %v after %d calls, want nil after at least 2", err, calls)
		}
	})
}

func TestPoll(t *testing.T) {
	errCond := errors.New("cond")
	tests := []struct {
		name    string
		cond    func() (bool, error)
		timeout time.Duration
		wantErr bool
	}{
		{"met", func() (bool, error) { return true, nil }, time.Second, false},
		{"cond fails", func() (bool, error) { return false, errCond }, time.Second, true},
		{"never met", func() (bool, error) { return false, nil }, 5 * time.Millisecond, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Poll(t.Context(), tc.timeout, time.Millisecond, tc.cond)
			if (err != nil) != tc.wantErr {
				t.Fatalf("Poll = %v, want error %v", err, tc.wantErr)
			}
		})
	}
}
