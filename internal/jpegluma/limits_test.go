package jpegluma_test

import (
	"context"
	"errors"
	"testing"

	"github.com/shardline/shardline/internal/jpegluma"
	"github.com/shardline/shardline/internal/jpegluma/jpegtest"
)

// TestScanLimit: a file of MaxScans scans is transcoded; one more scan is a *LimitError (which
// callers must not answer with a full decode), not an *UnsupportedError.
func TestScanLimit(t *testing.T) {
	for _, tc := range []struct {
		scans     int
		wantLimit bool
	}{
		{scans: 10},
		{scans: jpegluma.MaxScans},
		{scans: jpegluma.MaxScans + 1, wantLimit: true},
		{scans: 300, wantLimit: true},
	} {
		data := jpegtest.Progressive{Width: 64, Height: 48, Sampling: []byte{0x22, 0x11, 0x11}, Scans: tc.scans}.Build()
		_, err := jpegluma.Transcode(context.Background(), nil, data, jpegluma.Options{})
		var le *jpegluma.LimitError
		if got := errors.As(err, &le); got != tc.wantLimit || !tc.wantLimit && err != nil {
			t.Errorf("%d scans: error %v, want a *LimitError: %v", tc.scans, err, tc.wantLimit)
		}
		if errors.As(err, new(*jpegluma.UnsupportedError)) {
			t.Errorf("%d scans: %v is also an *UnsupportedError, which callers answer with a full decode", tc.scans, err)
		}
	}
}
