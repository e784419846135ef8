package bench

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestPaced(t *testing.T) {
	errStop := errors.New("stop")
	tests := []struct {
		name      string
		stopAt    int // fn fails at this call; -1: never
		cancelAt  int // ctx is cancelled during this call; -1: never
		wantCalls int // calls made
		wantErr   error
	}{
		{name: "every call", stopAt: -1, cancelAt: -1, wantCalls: 5},
		{name: "fn fails", stopAt: 2, cancelAt: -1, wantCalls: 3, wantErr: errStop},
		{name: "ctx ends", stopAt: -1, cancelAt: 1, wantCalls: 2, wantErr: context.Canceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			var calls []int
			start := time.Now()
			err := paced(ctx, 5, time.Millisecond, func(i int) error {
				calls = append(calls, i)
				if i == tc.cancelAt {
					cancel()
				}
				if i == tc.stopAt {
					return errStop
				}
				return nil
			})
			if !errors.Is(err, tc.wantErr) || len(calls) != tc.wantCalls {
				t.Fatalf("paced = %v after calls %v, want %v after %d calls", err, calls, tc.wantErr, tc.wantCalls)
			}
			for i, c := range calls {
				if c != i {
					t.Fatalf("calls %v, want 0, 1, 2, … in order", calls)
				}
			}
			if tc.wantCalls == 5 && time.Since(start) < 4*time.Millisecond {
				t.Fatalf("5 calls 1ms apart took %s, want at least 4ms", time.Since(start))
			}
		})
	}
}
