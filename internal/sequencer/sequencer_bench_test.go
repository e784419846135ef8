package sequencer

import "testing"

// BenchmarkCompare orders two raw sequencers of one key the way the forwarder and the processor
// do: both are normalised first, so this is two Normalize calls and a string comparison.
func BenchmarkCompare(b *testing.B) {
	cases := []struct {
		name string
		a, b string
	}{
		{"same_length", "0055AED6DCD90281E5", "0055AED6DCD90281E6"},
		{"padded", "0055AED6DCD90281E5", "0055aed6dcd90281e500"},
		{"minio_16", "17E9C1B6A5D0F8C3", "17E9C1B6A5D0F8C4"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Compare(c.a, c.b); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkNormalizeWidths normalises sequencers from the shortest seen in practice to the
// longest accepted.
func BenchmarkNormalizeWidths(b *testing.B) {
	for _, s := range []string{"17E9C1B6A5D0F8C3", "0055aed6dcd90281e5", "0055AED6DCD90281E50055AED6DCD902"} {
		b.Run(s, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Normalize(s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
