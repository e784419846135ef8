package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shardline/shardline/internal/lab/testkit"
)

func TestPercentile(t *testing.T) {
	d := []time.Duration{5, 1, 4, 2, 3, 10, 9, 8, 7, 6}
	tests := []struct {
		name string
		p    float64
		want time.Duration
	}{
		{"p50 of 10", 0.50, 5},
		{"p90 of 10", 0.90, 9},
		{"p99 of 10 is the max", 0.99, 10},
		{"p100", 1, 10},
		{"tiny p is the min", 0.001, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := percentile(d, tc.p); got != tc.want {
				t.Fatalf("percentile(%v) = %v, want %v", tc.p, got, tc.want)
			}
		})
	}
	if d[0] != 5 {
		t.Fatal("percentile sorted its input in place")
	}
}

func TestTableAlignsAndMarksFailures(t *testing.T) {
	var tb table
	tb.add(row{section: "image", what: "(a) baseline", figure: "10.0 Mpx/s"})
	tb.add(row{section: "image", what: "speed ours ÷ (a)", figure: "3.10×", target: "≥ 3×", met: "yes"})
	tb.fail("pipeline", "pipeline ÷ ceiling", "≥ 70%", errors.New("stream\nnot created"))
	var buf bytes.Buffer
	if err := tb.write(&buf); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(buf.String(), "\n"), "\n")
	if len(lines) != 4 {
		t.Fatalf("want header and 3 rows, got:\n%s", buf.String())
	}
	col := func(line, s string) int { return len([]rune(line[:strings.Index(line, s)])) }
	if a, b := col(lines[1], "10.0 Mpx/s"), col(lines[2], "3.10×"); a != b {
		t.Errorf("figures not aligned (%d vs %d):\n%s", a, b, buf.String())
	}
	if !strings.HasPrefix(lines[2], " ") {
		t.Errorf("section repeated on its second row:\n%s", buf.String())
	}
	if !strings.Contains(lines[3], "not measured") || !strings.Contains(lines[3], "error: stream not created") || !strings.Contains(lines[3], " no ") {
		t.Errorf("failed row does not say why and that the target is not met:\n%s", lines[3])
	}
	if !tb.failed {
		t.Error("table not marked failed")
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"image needs the binary", Config{Out: &bytes.Buffer{}}, "Binary"},
		{"other sections do not", Config{Out: &bytes.Buffer{}, Only: []string{SectionHotKey}}, ""},
		{"unknown section", Config{Out: &bytes.Buffer{}, Binary: "x", Only: []string{"imgae"}}, `unknown section "imgae"`},
		{"no output", Config{Binary: "x"}, "Out"},
		{"quality", Config{Out: &bytes.Buffer{}, Binary: "x", JPEGQuality: 101}, "JPEGQuality"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			testkit.ErrMentions(t, tc.cfg.Validate(), tc.wantErr)
		})
	}
}

// writeTestImages writes a small JPEG and a PNG with transparency.
func writeTestImages(t *testing.T) []string {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 64, 48))
	for y := range 48 {
		for x := range 64 {
			img.SetNRGBA(x, y, color.NRGBA{R: uint8(4 * x), G: uint8(5 * y), B: 90, A: uint8(255 - y)})
		}
	}
	dir := t.TempDir()
	var j, p bytes.Buffer
	if err := jpeg.Encode(&j, img, nil); err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(&p, img); err != nil {
		t.Fatal(err)
	}
	paths := []string{filepath.Join(dir, "a.jpg"), filepath.Join(dir, "b.png")}
	for i, b := range [][]byte{j.Bytes(), p.Bytes()} {
		if err := os.WriteFile(paths[i], b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return paths
}

func TestRunImageChild(t *testing.T) {
	files := writeTestImages(t)
	for _, mode := range []string{modeImaging, modeOurs} {
		t.Run(mode, func(t *testing.T) {
			var out bytes.Buffer
			args := append([]string{"-mode", mode, "-passes", "2"}, files...)
			if err := RunImageChild(context.Background(), args, &out); err != nil {
				t.Fatal(err)
			}
			var res childResult
			if err := json.Unmarshal(out.Bytes(), &res); err != nil {
				t.Fatalf("output %q: %v", out.String(), err)
			}
			if res.Files != 4 || res.Pixels != 4*64*48 || res.OutBytes == 0 {
				t.Fatalf("result %+v, want 4 files of 64×48 converted", res)
			}
		})
	}
	t.Run("unknown mode", func(t *testing.T) {
		if err := RunImageChild(context.Background(), append([]string{"-mode", "magic"}, files...), &bytes.Buffer{}); err == nil {
			t.Fatal("no error for an unknown mode")
		}
	})
}
