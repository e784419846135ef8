package grayscale

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/KimMachineGun/automemlimit/memlimit"

	"github.com/shardline/shardline/internal/envelope"
	"github.com/shardline/shardline/internal/jpegluma/jpegtest"
	"github.com/shardline/shardline/processor"
)

// memCap is the memory the child of TestHostileImagesUnderMemoryCap may use.
const memCap = 1 << 30

// TestHostileImagesUnderMemoryCap (issue 12, finding 4, acceptance): 20 adversarial images at
// once at the default memory budget under a 1 GiB cap leave the worker alive, each image
// converted or refused with a typed (permanent) error.
//
// The cap is RLIMIT_AS, set by the child on itself: there is no writable memory cgroup here
// (/sys/fs/cgroup is mounted read-only). RLIMIT_AS caps address space, not resident memory, and
// a Go process reserves address space before it allocates anything (about 700 MB for a small
// program, measured on Go 1.26 linux/amd64), so the child caps itself at the address space it
// holds when it starts plus 1 GiB: what its heap can grow by, as under a 1 GiB cgroup. It sets
// GOMEMLIMIT as automemlimit does for a 1 GiB container (90%: 0.9 GiB), so the handler's default
// budget is 0.45 GiB. The child is this package's test binary built without -race: the race
// detector reserves terabytes of address space, which no RLIMIT_AS allows.
func TestHostileImagesUnderMemoryCap(t *testing.T) {
	if os.Getenv("SHARDLINE_MEMCAP_CHILD") != "" {
		t.Skip("in the child")
	}
	if testing.Short() {
		t.Skip("builds the test binary and converts a few hundred megapixels")
	}
	out, err := runWithoutRace(t, "^TestMemCapChild$", "SHARDLINE_MEMCAP_CHILD=1")
	t.Logf("child output:\n%s", out)
	if err != nil {
		t.Fatalf("the child died or failed under the cap: %v", err)
	}
	results := regexp.MustCompile(`(?m)^RESULT (\S+) (\S+)$`).FindAllStringSubmatch(string(out), -1)
	if len(results) != len(memCapInputs) {
		t.Fatalf("%d results reported, want %d", len(results), len(memCapInputs))
	}
	for _, r := range results {
		if r[1] != r[2] {
			t.Errorf("%s: outcome %s", r[1], r[2])
		}
	}
}

// runWithoutRace builds this package's test binary without -race and runs the tests matching
// run in it, in an environment of PATH, HOME and env only (no GOMEMLIMIT, no AUTOMEMLIMIT). It
// returns the combined output and the error of the run.
func runWithoutRace(t *testing.T, run string, env ...string) ([]byte, error) {
	t.Helper()
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goTool); err != nil {
		t.Skipf("no go tool to build the test binary with: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "grayscale.test")
	if out, err := exec.Command(goTool, "test", "-c", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("building the test binary without -race: %v\n%s", err, out)
	}
	cmd := exec.CommandContext(t.Context(), bin, "-test.run="+run, "-test.v", "-test.count=1")
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...)
	return cmd.CombinedOutput()
}

// memCapInputs are the child's 20 inputs, by key; the key starts with the wanted outcome:
// "ok" or the reason of the refusal.
var memCapInputs = []string{
	"ok.rotated444.1", "ok.rotated444.2", "ok.rotated444.3", "ok.rotated444.4",
	"ok.png16.1", "ok.png16.2", "ok.png16.3",
	"ok.cmyk.1", "ok.cmyk.2", "ok.cmyk.3",
	"ok.baseline.1", "ok.baseline.2",
	ReasonOverMemoryBudget + ".rotated444huge.1", ReasonOverMemoryBudget + ".rotated444huge.2",
	ReasonTooComplex + ".scans300.1", ReasonTooComplex + ".scans300.2",
	ReasonTooManyPixels + ".pngbomb.1", ReasonTooManyPixels + ".pngbomb.2",
	ReasonCorruptImage + ".hugetiny.1", ReasonCorruptImage + ".hugetiny.2",
}

// TestMemCapChild is the child of TestHostileImagesUnderMemoryCap; it does nothing unless run
// by it.
func TestMemCapChild(t *testing.T) {
	if os.Getenv("SHARDLINE_MEMCAP_CHILD") == "" {
		t.Skip("run by TestHostileImagesUnderMemoryCap")
	}
	// The cap first, then the inputs: they count against it too.
	vsz := vmSize(t)
	if err := syscall.Setrlimit(syscall.RLIMIT_AS, &syscall.Rlimit{Cur: uint64(vsz + memCap), Max: uint64(vsz + memCap)}); err != nil {
		t.Fatalf("setrlimit: %v", err)
	}
	limit, err := memlimit.Set(memlimit.WithProvider(memlimit.Limit(memCap)))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("cap: RLIMIT_AS %d MiB (%d MiB reserved at start + 1 GiB), GOMEMLIMIT %d MiB\n", (vsz+memCap)>>20, vsz>>20, limit>>20)

	data := map[string][]byte{
		"rotated444":     jpegtest.Progressive{Width: 3000, Height: 3000, Sampling: yuv444, Scans: 10, Orientation: 6}.Build(),
		"png16":          encodePNG(t, noiseNRGBA64(1500, 1500)),
		"cmyk":           jpegtest.Progressive{Width: 3000, Height: 3000, Sampling: cmyk, Scans: 20}.Build(),
		"baseline":       encodeJPEG(t, gradient(4096, 4096)),
		"rotated444huge": jpegtest.Progressive{Width: 6000, Height: 6000, Sampling: yuv444, Scans: 10, Orientation: 6}.Build(),
		"scans300":       jpegtest.Progressive{Width: 4096, Height: 4096, Sampling: yuv420, Scans: 300}.Build(),
		"pngbomb":        pngHeader(100000, 100000),
		"hugetiny":       hugeTinyJPEG(t, 7000, 7000),
	}
	store := newFakeStore()
	for _, key := range memCapInputs {
		store.add(inBucket, key, data[strings.Split(key, ".")[1]], "")
	}
	h := newTestConverter(t, store, nil)
	fmt.Printf("memory budget: %d MiB\n", h.cfg.MemoryBudget>>20)

	outcomes := make([]string, len(memCapInputs))
	var wg sync.WaitGroup
	for i, key := range memCapInputs {
		wg.Go(func() {
			err := h.Handle(context.Background(), testEvent(t, envelope.OpPut, inBucket, key))
			switch {
			case err == nil:
				outcomes[i] = "ok"
				store.mu.Lock()
				delete(store.objects, outBucket+"/"+key) // outputs need not stay in memory
				store.mu.Unlock()
			case errors.Is(err, processor.ErrPermanent):
				outcomes[i] = processor.ReasonOf(err)
			default:
				outcomes[i] = "transient:" + strings.ReplaceAll(err.Error(), " ", "_")
			}
		})
	}
	wg.Wait()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	for i, key := range memCapInputs {
		fmt.Printf("RESULT %s %s\n", key[:strings.Index(key, ".")], outcomes[i])
	}
	fmt.Printf("peak: heap sys %d MiB, total sys %d MiB, address space %d MiB\n", m.HeapSys>>20, m.Sys>>20, vmSize(t)>>20)
}

// vmSize returns the process's address space (VmSize) in bytes.
func vmSize(t *testing.T) int64 {
	t.Helper()
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc/self/status: %v", err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmSize:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmSize in /proc/self/status")
	return 0
}
