package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// imageRounds is how often every image mode is measured over the whole set, interleaved with
// the others; the lowest CPU time counts. CPU time keeps most other load out of the figures, but
// on a shared virtual machine one run still varies by ±10 %, so the best of three is reported.
const imageRounds = 3

// photo is one input image.
type photo struct {
	path          string
	format        string // "jpeg" or "png"
	width, height int
	size          int64
}

func (p photo) pixels() int64 { return int64(p.width) * int64(p.height) }

// findPhotos returns the JPEG and PNG files under dir, sorted by path.
func findPhotos(dir string) ([]photo, error) {
	var out []photo
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		switch strings.ToLower(filepath.Ext(path)) {
		case ".jpg", ".jpeg", ".png":
		default:
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		cfg, format, err := image.DecodeConfig(f)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		st, err := f.Stat()
		if err != nil {
			return err
		}
		out = append(out, photo{path: path, format: format, width: cfg.Width, height: cfg.Height, size: st.Size()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("photos in %s (apt-get install mate-backgrounds): %w", dir, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no JPEG or PNG photos in %s (apt-get install mate-backgrounds)", dir)
	}
	slices.SortFunc(out, func(a, b photo) int { return strings.Compare(a.path, b.path) })
	return out, nil
}

func ofFormat(photos []photo, format string) []photo {
	var out []photo
	for _, p := range photos {
		if p.format == format {
			out = append(out, p)
		}
	}
	return out
}

func paths(photos []photo) []string {
	out := make([]string, len(photos))
	for i, p := range photos {
		out[i] = p.path
	}
	return out
}

func totalPixels(photos []photo) int64 {
	var n int64
	for _, p := range photos {
		n += p.pixels()
	}
	return n
}

// usage is what one mode cost over a set of inputs.
type usage struct {
	pixels  int64
	cpu     time.Duration // user + system time of every process involved
	peakRSS int64         // bytes; for a pipeline of processes, the sum of their peaks
}

// mpxPerCore is megapixels per CPU-second.
func (u usage) mpxPerCore() float64 { return float64(u.pixels) / 1e6 / u.cpu.Seconds() }

// better keeps the run with the lower CPU time (other load only ever adds time) and the higher
// peak RSS (memory is not disturbed by load, so any run's peak is a real peak).
func (u usage) better(v usage) usage {
	if u.cpu == 0 || (v.cpu > 0 && v.cpu < u.cpu) {
		u.cpu = v.cpu
	}
	u.pixels = v.pixels
	u.peakRSS = max(u.peakRSS, v.peakRSS)
	return u
}

// rusageOf returns the CPU time and peak RSS of an exited process.
func rusageOf(ps *os.ProcessState) (time.Duration, int64) {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return ps.UserTime() + ps.SystemTime(), 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), ru.Maxrss * 1024 // Linux: KiB
}

// child runs one Go image mode over photos in a child process with GOMAXPROCS=1.
func (r *runner) child(ctx context.Context, mode string, photos []photo) (usage, error) {
	args := append([]string{ChildCommand, "-mode", mode, "-quality", strconv.Itoa(r.cfg.JPEGQuality), "-passes", "1"}, paths(photos)...)
	cmd := exec.CommandContext(ctx, r.cfg.Binary, args...)
	// One core; the default collector settings, whatever the caller's environment says.
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1", "GOGC=100", "GOMEMLIMIT=off")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return usage{}, fmt.Errorf("%s child: %w: %s", mode, err, oneLine(stderr.String()))
	}
	var res childResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		return usage{}, fmt.Errorf("%s child output %q: %w", mode, stdout.String(), err)
	}
	if res.Pixels != totalPixels(photos) {
		return usage{}, fmt.Errorf("%s child converted %d pixels, want %d", mode, res.Pixels, totalPixels(photos))
	}
	cpu, rss := rusageOf(cmd.ProcessState)
	return usage{pixels: res.Pixels, cpu: cpu, peakRSS: rss}, nil
}

// External tools, from Debian's libjpeg-turbo-progs.
const (
	modeDjpegCjpeg = "djpeg -grayscale | cjpeg"
	modeJpegtran   = "jpegtran -grayscale"
)

// external runs one libjpeg-turbo mode once per photo and adds up the processes' CPU time; the
// peak RSS is the largest over the photos (for djpeg | cjpeg, the two processes' peaks added,
// since they run at the same time).
func (r *runner) external(ctx context.Context, mode string, photos []photo) (usage, error) {
	u := usage{}
	for _, p := range photos {
		var cpu time.Duration
		var rss int64
		var err error
		switch mode {
		case modeDjpegCjpeg:
			cpu, rss, err = djpegCjpeg(ctx, p.path, r.cfg.JPEGQuality)
		case modeJpegtran:
			cpu, rss, err = runTool(ctx, nil, "jpegtran", "-grayscale", "-copy", "none", p.path)
		default:
			err = fmt.Errorf("unknown mode %q", mode)
		}
		if err != nil {
			return usage{}, fmt.Errorf("%s %s: %w", mode, p.path, err)
		}
		u.pixels += p.pixels()
		u.cpu += cpu
		u.peakRSS = max(u.peakRSS, rss)
	}
	return u, nil
}

// runTool runs one program with stdin (nil: none) and checks that it wrote something.
func runTool(ctx context.Context, stdin io.Reader, name string, args ...string) (time.Duration, int64, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = stdin
	var out countWriter
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return 0, 0, fmt.Errorf("%s: %w: %s", name, err, oneLine(stderr.String()))
	}
	if out == 0 {
		return 0, 0, fmt.Errorf("%s wrote nothing", name)
	}
	cpu, rss := rusageOf(cmd.ProcessState)
	return cpu, rss, nil
}

// djpegCjpeg runs `djpeg -grayscale path | cjpeg -quality q` with the two processes connected
// by a pipe, as a shell would.
func djpegCjpeg(ctx context.Context, path string, quality int) (time.Duration, int64, error) {
	pr, pw, err := os.Pipe()
	if err != nil {
		return 0, 0, err
	}
	djpeg := exec.CommandContext(ctx, "djpeg", "-grayscale", path)
	djpeg.Stdout = pw
	var djErr bytes.Buffer
	djpeg.Stderr = &djErr
	if err := djpeg.Start(); err != nil {
		pr.Close()
		pw.Close()
		return 0, 0, err
	}
	pw.Close() // the child holds its own copy
	cpuC, rssC, errC := runTool(ctx, pr, "cjpeg", "-quality", strconv.Itoa(quality))
	pr.Close()
	errD := djpeg.Wait()
	if errD != nil {
		return 0, 0, fmt.Errorf("djpeg: %w: %s", errD, oneLine(djErr.String()))
	}
	if errC != nil {
		return 0, 0, errC
	}
	cpuD, rssD := rusageOf(djpeg.ProcessState)
	return cpuD + cpuC, rssD + rssC, nil
}

// countWriter counts and discards what is written to it.
type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) {
	*c += countWriter(len(p))
	return len(p), nil
}

// imageSection measures the image rows.
func (r *runner) imageSection(ctx context.Context, t *table) {
	const sec = SectionImage
	all, err := findPhotos(r.cfg.PhotosDir)
	if err != nil {
		t.fail(sec, "photos", "", err)
		return
	}
	jpegs, pngs := ofFormat(all, "jpeg"), ofFormat(all, "png")
	toolsErr := lookTools("djpeg", "cjpeg", "jpegtran")

	if len(jpegs) > 0 {
		r.jpegRows(ctx, t, jpegs, toolsErr)
	}
	if len(pngs) > 0 {
		r.pngRows(ctx, t, pngs)
	}
}

func lookTools(names ...string) error {
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			return fmt.Errorf("%s not installed (apt-get install libjpeg-turbo-progs): %w", n, err)
		}
	}
	return nil
}

// measure runs every mode imageRounds times, interleaved, and keeps the best of each.
func (r *runner) measure(ctx context.Context, modes []string, photos []photo, skip map[string]error) (map[string]usage, map[string]error) {
	best := map[string]usage{}
	errs := map[string]error{}
	for k, v := range skip {
		errs[k] = v
	}
	for round := 1; round <= imageRounds; round++ {
		for _, m := range modes {
			if errs[m] != nil {
				continue
			}
			r.cfg.Progress.Info("image", "mode", m, "files", len(photos), "round", round)
			var u usage
			var err error
			switch m {
			case modeImaging, modeOurs:
				u, err = r.child(ctx, m, photos)
			default:
				u, err = r.external(ctx, m, photos)
			}
			if err != nil {
				errs[m] = err
				continue
			}
			best[m] = best[m].better(u)
		}
	}
	return best, errs
}

var modeLabel = map[string]string{
	modeImaging:    "(a) imaging.Decode → Grayscale → Encode",
	modeOurs:       "(b) ours: grayscale.Convert",
	modeDjpegCjpeg: "(c) djpeg -grayscale | cjpeg",
	modeJpegtran:   "(c) jpegtran -grayscale (lossless)",
}

func (r *runner) jpegRows(ctx context.Context, t *table, jpegs []photo, toolsErr error) {
	const sec = "image: JPEG"
	modes := []string{modeImaging, modeOurs, modeDjpegCjpeg, modeJpegtran}
	skip := map[string]error{modeDjpegCjpeg: toolsErr, modeJpegtran: toolsErr}

	// The largest photo runs in processes of its own, so that its peak RSS is measured alone;
	// the set's figures add that run to the run over the other photos.
	big := slices.MaxFunc(jpegs, func(a, b photo) int { return int(a.pixels() - b.pixels()) })
	rest := slices.DeleteFunc(slices.Clone(jpegs), func(p photo) bool { return p.path == big.path })
	r.cfg.Progress.Info("image: largest JPEG alone", "file", big.path)
	gotBig, errs := r.measure(ctx, modes, []photo{big}, skip)
	got := maps.Clone(gotBig)
	if len(rest) > 0 {
		gotRest, errsRest := r.measure(ctx, modes, rest, errs)
		for _, m := range modes {
			errs[m] = cmpOr(errs[m], errsRest[m])
			got[m] = usage{pixels: gotBig[m].pixels + gotRest[m].pixels, cpu: gotBig[m].cpu + gotRest[m].cpu,
				peakRSS: max(gotBig[m].peakRSS, gotRest[m].peakRSS)}
		}
	}

	set := fmt.Sprintf("%d JPEGs, %.1f Mpx, 1 core", len(jpegs), float64(totalPixels(jpegs))/1e6)
	ok := map[string]bool{}
	for _, m := range modes {
		if err := errs[m]; err != nil {
			t.fail(sec, modeLabel[m], "", err)
			continue
		}
		ok[m] = true
		u := got[m]
		t.add(row{section: sec, what: modeLabel[m], figure: perSecond(u.mpxPerCore(), "Mpx/s"),
			note: fmt.Sprintf("%s; CPU %.2f s; peak RSS %s", set, u.cpu.Seconds(), mib(u.peakRSS))})
	}
	ours := got[modeOurs]
	if ok[modeOurs] && ok[modeImaging] {
		ratio := ours.mpxPerCore() / got[modeImaging].mpxPerCore()
		t.add(row{section: sec, what: "speed ours ÷ (a)", figure: times(ratio), target: "≥ 3×", met: yesNo(ratio >= 3)})
	}
	if ok[modeOurs] && ok[modeDjpegCjpeg] {
		ratio := ours.cpu.Seconds() / got[modeDjpegCjpeg].cpu.Seconds()
		t.add(row{section: sec, what: "time ours ÷ (c) djpeg|cjpeg", figure: times(ratio), target: "≤ 1.3×", met: yesNo(ratio <= 1.3),
			note: fmt.Sprintf("speed ours ÷ (c) = %s", times(1/ratio))})
	}
	if ok[modeOurs] && ok[modeJpegtran] {
		t.add(row{section: sec, what: "time ours ÷ (c) jpegtran", figure: times(ours.cpu.Seconds() / got[modeJpegtran].cpu.Seconds()),
			note: "lossless DCT-domain transform: no decode, no re-encode"})
	}

	budget := 2*big.pixels() + big.size
	secBig := fmt.Sprintf("image: %d×%d JPEG", big.width, big.height)
	for _, m := range modes {
		if !ok[m] {
			continue
		}
		rw := row{section: secBig, what: "peak RSS " + modeLabel[m], figure: mib(gotBig[m].peakRSS),
			note: fmt.Sprintf("%s per core on this file", perSecond(gotBig[m].mpxPerCore(), "Mpx/s"))}
		if m == modeOurs {
			rw.target = "< " + mib(budget)
			rw.met = yesNo(gotBig[m].peakRSS < budget)
			rw.note += fmt.Sprintf("; target = 2 × gray plane (%d×%d B) + file (%s)", big.width, big.height, mib(big.size))
		}
		t.add(rw)
	}
	if !ok[modeOurs] {
		t.fail(secBig, "peak RSS "+modeLabel[modeOurs], "< "+mib(budget), errs[modeOurs])
	}
}

func (r *runner) pngRows(ctx context.Context, t *table, pngs []photo) {
	const sec = "image: PNG"
	modes := []string{modeImaging, modeOurs}
	set := fmt.Sprintf("%d PNGs, %.1f Mpx, 1 core", len(pngs), float64(totalPixels(pngs))/1e6)
	got, errs := r.measure(ctx, modes, pngs, nil)
	for _, m := range modes {
		if err := errs[m]; err != nil {
			t.fail(sec, modeLabel[m], "", err)
			continue
		}
		u := got[m]
		t.add(row{section: sec, what: modeLabel[m], figure: perSecond(u.mpxPerCore(), "Mpx/s"),
			note: fmt.Sprintf("%s; CPU %.2f s; peak RSS %s", set, u.cpu.Seconds(), mib(u.peakRSS))})
	}
	if a, ok := got[modeImaging]; ok {
		if b, ok := got[modeOurs]; ok {
			t.add(row{section: sec, what: "speed ours ÷ (a)", figure: times(b.mpxPerCore() / a.mpxPerCore()),
				note: "PNG keeps the imaging decoder; no target"})
		}
	}
}
