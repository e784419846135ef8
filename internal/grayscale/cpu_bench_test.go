package grayscale

import (
	"context"
	"errors"
	"syscall"
	"testing"

	"github.com/shardline/shardline/processor"
)

// BenchmarkAdversarialCPUPerByte runs Convert (header checks, scan limits, decode, convert,
// encode: the handler's conversion) on the adversarial corpus and reports the CPU time per input
// byte of each input (cpu-ns/B: the process's user+system time from getrusage, which a machine
// busy with other work does not inflate as it does ns/op) and, in the log, the worst of them:
// what one byte of a hostile upload can cost a worker. Inputs are 4096×4096 where they are large. Run with
// -benchtime=1x: go test -run '^$' -bench AdversarialCPUPerByte -benchtime=1x ./internal/grayscale/
func BenchmarkAdversarialCPUPerByte(b *testing.B) {
	ctx := context.Background()
	worst, worstName := 0.0, ""
	for _, in := range adversarialCorpus(b, 4096) {
		b.Run(in.name, func(b *testing.B) {
			b.ReportAllocs()
			cpu0 := cpuTime(b)
			for b.Loop() {
				_, _, err := Convert(ctx, in.data, DefaultJPEGQuality)
				if err != nil && (!errors.Is(err, processor.ErrPermanent) || processor.ReasonOf(err) != in.want) || err == nil && in.want != "" {
					b.Fatalf("Convert: %v, want %q", err, in.want)
				}
			}
			perByte := float64(cpuTime(b)-cpu0) / float64(b.N) / float64(len(in.data))
			b.ReportMetric(perByte, "cpu-ns/B")
			b.ReportMetric(float64(len(in.data)), "input-bytes")
			if perByte > worst {
				worst, worstName = perByte, in.name
			}
		})
	}
	b.Logf("worst CPU per input byte: %.0f ns/B (%s)", worst, worstName)
}

// cpuTime returns the process's user and system CPU time in nanoseconds.
func cpuTime(b *testing.B) int64 {
	b.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
