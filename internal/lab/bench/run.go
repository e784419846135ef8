package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"
)

// runner holds what the sections share.
type runner struct {
	cfg Config
}

// ErrNotMeasured is returned by Run when at least one row could not be measured; the table is
// printed anyway, with the reason in that row.
var ErrNotMeasured = errors.New("bench: some rows could not be measured (see their notes)")

// Run measures the selected sections one after the other (so that they do not disturb each
// other), then writes the table and how to reproduce it to cfg.Out. Resources it creates on the
// local stack (streams, tables, buckets) carry a bench- prefix and are deleted when it is done.
func Run(ctx context.Context, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	cfg = cfg.withDefaults()
	r := &runner{cfg: cfg}
	t := &table{}
	started := time.Now()
	loadBefore := loadAverage()
	steps := []struct {
		name string
		run  func(context.Context, *table)
	}{
		{SectionImage, r.imageSection},
		{SectionShardLimit, r.shardLimitSection},
		{SectionPipeline, r.pipelineSection},
		{SectionConcurrency, r.concurrencySection},
		{SectionHotKey, r.hotKeySection},
		{SectionLatency, r.latencySection},
		{SectionHandoff, r.handoffSection},
		{SectionForwarder, r.forwarderSection},
	}
	for _, s := range steps {
		if !cfg.runs(s.name) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		cfg.Progress.Info("section", "name", s.name)
		stop, err := profileSection(s.name)
		if err != nil {
			return err
		}
		s.run(ctx, t)
		stop()
	}

	out := cfg.Out
	fmt.Fprintf(out, "shardline bench: %s, %s/%s, %d CPUs (%s), %s; photos %s\n",
		started.UTC().Format("2006-01-02 15:04 MST"), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), cpuModel(),
		runtime.Version(), cfg.PhotosDir)
	fmt.Fprintf(out, "load average (1 min) %s at the start, %s at the end: image figures are CPU time of single-threaded\n"+
		"processes; the others are wall time on the local stack, so other load on these CPUs lowers them.\n\n", loadBefore, loadAverage())
	if err := t.write(out); err != nil {
		return err
	}
	fmt.Fprintf(out, "\ntook %s. Reproduce: `make bench` (installs the photos and libjpeg-turbo-progs, starts the local stack,\n"+
		"runs the Go micro-benchmarks and this table), or on a running stack:\n"+
		"  eval \"$(infra/local/stack.sh env)\" && go run ./cmd/shardline-lab bench [-only %s]\n",
		time.Since(started).Round(time.Second), strings.Join(Sections, ","))
	if t.failed {
		return ErrNotMeasured
	}
	return nil
}

// profileSection starts a CPU profile of this process for one section when
// SHARDLINE_BENCH_CPUPROFILE names a path (written to path.bench-section; the consumer children
// write path.worker-child and path.kcl-child), and returns what stops it.
func profileSection(section string) (stop func(), err error) {
	path := os.Getenv("SHARDLINE_BENCH_CPUPROFILE")
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path + ".bench-" + section)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// cpuModel is the processor's name from /proc/cpuinfo, or "unknown CPU".
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

// loadAverage is the one-minute load average from /proc/loadavg, or "unknown".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return "unknown"
}
