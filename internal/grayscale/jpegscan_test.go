package grayscale

import (
	"errors"
	"testing"

	"github.com/shardline/shardline/internal/jpegluma/jpegtest"
	"github.com/shardline/shardline/processor"
)

// TestScanJPEGLimits checks the limits at their edges and the layout scanJPEG reports.
func TestScanJPEGLimits(t *testing.T) {
	tests := []struct {
		name       string
		p          jpegtest.Progressive
		wantScans  int
		wantPasses float64
		refused    bool
	}{
		{"gray, 16 full passes", jpegtest.Progressive{Width: 100, Height: 60, Sampling: gray1, Scans: 16}, 16, 16, false},
		{"gray, 17 full passes", jpegtest.Progressive{Width: 100, Height: 60, Sampling: gray1, Scans: 17}, 17, 17, true},
		{"4:4:4, DC and 45 one-component scans", jpegtest.Progressive{Width: 64, Height: 64, Sampling: yuv444, Scans: 46}, 46, 16, false},
		{"4:4:4, one scan more", jpegtest.Progressive{Width: 64, Height: 64, Sampling: yuv444, Scans: 47}, 47, 16 + 1.0/3, true},
		{"4:2:0, 10 scans", jpegtest.Progressive{Width: 64, Height: 64, Sampling: yuv420, Scans: 10}, 10, 1 + 3*4.0/6 + 6*1.0/6, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, err := scanJPEG(tc.p.Build())
			if refused := processor.ReasonOf(err) == ReasonTooComplex; refused != tc.refused || !tc.refused && err != nil {
				t.Fatalf("scanJPEG: %v, want refused: %v", err, tc.refused)
			}
			passes := float64(l.scanBlocks) / float64(l.frameBlocks())
			if l.scans != tc.wantScans || passes < tc.wantPasses-0.01 || passes > tc.wantPasses+0.01 {
				t.Errorf("%d scans, %.2f passes; want %d, %.2f", l.scans, passes, tc.wantScans, tc.wantPasses)
			}
		})
	}
}

// FuzzScanJPEG: scanJPEG never panics on any input and fails only with a permanent
// too_complex; what it reports stays within the limits unless it refused.
func FuzzScanJPEG(f *testing.F) {
	for _, data := range jpegtest.Files(f, "../jpegluma/testdata/*.jpg") {
		f.Add(data)
	}
	f.Add(jpegtest.Progressive{Width: 64, Height: 48, Sampling: yuv420, Scans: 40}.Build())
	f.Add(jpegtest.Progressive{Width: 16, Height: 16, Sampling: cmyk, Scans: 300, Orientation: 6}.Build())
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := scanJPEG(data)
		if err != nil {
			if !errors.Is(err, processor.ErrPermanent) || processor.ReasonOf(err) != ReasonTooComplex {
				t.Fatalf("error %v, want a permanent too_complex", err)
			}
			return
		}
		if l.scans > maxJPEGScans {
			t.Fatalf("%d scans accepted", l.scans)
		}
		if len(l.comps) > 0 && l.scanBlocks > maxJPEGScanPasses*l.frameBlocks() {
			t.Fatalf("%d scan blocks accepted for %d frame blocks", l.scanBlocks, l.frameBlocks())
		}
	})
}
