package grayscale

import (
	"context"
	"errors"
	"testing"

	"github.com/shardline/shardline/processor"
)

// BenchmarkAdversarialCPUPerByte runs Convert (header checks, scan limits, decode, convert,
// encode: the handler's conversion) on the adversarial corpus and reports the CPU time per input
// byte of each input (ns/B) and, in the log, the worst of them: what one byte of a hostile
// upload can cost a worker. Inputs are 4096×4096 where they are large. Run with
// -benchtime=1x: go test -run '^$' -bench AdversarialCPUPerByte -benchtime=1x ./internal/grayscale/
func BenchmarkAdversarialCPUPerByte(b *testing.B) {
	ctx := context.Background()
	worst, worstName := 0.0, ""
	for _, in := range adversarialCorpus(b, 4096) {
		b.Run(in.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, _, err := Convert(ctx, in.data, DefaultJPEGQuality)
				if err != nil && (!errors.Is(err, processor.ErrPermanent) || processor.ReasonOf(err) != in.want) || err == nil && in.want != "" {
					b.Fatalf("Convert: %v, want %q", err, in.want)
				}
			}
			perByte := float64(b.Elapsed().Nanoseconds()) / float64(b.N) / float64(len(in.data))
			b.ReportMetric(perByte, "ns/B")
			b.ReportMetric(float64(len(in.data)), "input-bytes")
			if perByte > worst {
				worst, worstName = perByte, in.name
			}
		})
	}
	b.Logf("worst CPU per input byte: %.0f ns/B (%s)", worst, worstName)
}
