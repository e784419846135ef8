package grayscale

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/shardline/shardline/internal/envelope"
	"github.com/shardline/shardline/internal/jpegluma/jpegtest"
)

var (
	yuv420 = []byte{0x22, 0x11, 0x11}
	yuv444 = []byte{0x11, 0x11, 0x11}
	gray1  = []byte{0x11}
	cmyk   = []byte{0x11, 0x11, 0x11, 0x11}
)

// decoderLog records which decoders a Converter starts.
type decoderLog struct {
	mu    sync.Mutex
	names []string
}

func (d *decoderLog) add(name string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.names = append(d.names, name)
}

func (d *decoderLog) get() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.names)
}

// TestCPUBombs (issue 12, finding 3): JPEGs whose scans would make a decoder pass over every
// block many times for a few bytes are refused from their markers as too_complex, and no decoder
// runs: neither jpegluma nor the image/jpeg or imaging fallback. Files within the limits are
// converted. Before the fix, the 300-scan file was refused by jpegluma and then decoded by
// image/jpeg (the output was written).
func TestCPUBombs(t *testing.T) {
	tests := []struct {
		name         string
		p            jpegtest.Progressive
		want         string
		wantDecoders []string
	}{
		{"300 scans 4:2:0", jpegtest.Progressive{Width: 2048, Height: 2048, Sampling: yuv420, Scans: 300}, ReasonTooComplex, nil},
		{"300 scans 4:4:4 rotated", jpegtest.Progressive{Width: 2048, Height: 2048, Sampling: yuv444, Scans: 300, Orientation: 6}, ReasonTooComplex, nil},
		{"300 scans CMYK", jpegtest.Progressive{Width: 512, Height: 512, Sampling: cmyk, Scans: 300}, ReasonTooComplex, nil},
		{"gray, 17 full passes", jpegtest.Progressive{Width: 512, Height: 512, Sampling: gray1, Scans: 17}, ReasonTooComplex, nil},
		{"CMYK, 18 passes in 70 scans", jpegtest.Progressive{Width: 512, Height: 512, Sampling: cmyk, Scans: 70}, ReasonTooComplex, nil},
		{"gray, 16 full passes", jpegtest.Progressive{Width: 512, Height: 512, Sampling: gray1, Scans: 16}, "", []string{"jpegluma"}},
		{"4:2:0, 40 scans (about 11 passes)", jpegtest.Progressive{Width: 512, Height: 512, Sampling: yuv420, Scans: 40}, "", []string{"jpegluma"}},
		{"CMYK, 20 scans (about 6 passes)", jpegtest.Progressive{Width: 512, Height: 512, Sampling: cmyk, Scans: 20}, "", []string{"jpegluma", "image/jpeg"}},
		{"4:4:4 rotated, 10 scans", jpegtest.Progressive{Width: 512, Height: 512, Sampling: yuv444, Scans: 10, Orientation: 6}, "", []string{"imaging"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store := newFakeStore()
			store.add(inBucket, "k.jpg", tc.p.Build(), "")
			h := newTestConverter(t, store, nil)
			var log decoderLog
			h.onDecoder = log.add
			assertOutcome(t, h.Handle(context.Background(), testEvent(t, envelope.OpPut, inBucket, "k.jpg")), tc.want)
			if got := log.get(); !slices.Equal(got, tc.wantDecoders) {
				t.Errorf("decoders started %q, want %q", got, tc.wantDecoders)
			}
			wantPuts := int64(0)
			if tc.want == "" {
				wantPuts = 1
			}
			if store.puts.Load() != wantPuts {
				t.Errorf("%d outputs written, want %d", store.puts.Load(), wantPuts)
			}
		})
	}
}

// TestJPEGLumaLimitDoesNotFallBack: when jpegluma itself refuses a file for its cost (a
// backstop: scanJPEG refuses such files first), convertJPEG refuses it as too_complex and
// image/jpeg never runs.
func TestJPEGLumaLimitDoesNotFallBack(t *testing.T) {
	data := jpegtest.Progressive{Width: 256, Height: 256, Sampling: yuv420, Scans: 300}.Build()
	var log decoderLog
	fellBack := false
	_, _, err := convertJPEG(context.Background(), data, conversion{maxPixels: DefaultMaxPixels, quality: 90, onDecoder: log.add,
		beforeFallback: func(context.Context) error { fellBack = true; return nil }})
	assertOutcome(t, err, ReasonTooComplex)
	if fellBack || !slices.Equal(log.get(), []string{"jpegluma"}) {
		t.Errorf("decoders started %q (fallback hook called: %v), want only jpegluma", log.get(), fellBack)
	}
}
