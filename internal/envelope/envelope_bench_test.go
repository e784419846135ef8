package envelope

import (
	"strings"
	"testing"
	"time"
)

// BenchmarkNew builds an event from raw notification fields: sequencer normalisation, the
// SHA-256 idempotency ID and validation, once per forwarded event.
func BenchmarkNew(b *testing.B) {
	t := time.Unix(1700000000, 0)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := New("aws:s3", "ObjectCreated:Put", "in", "photos/2026/a.jpg", OpPut, "0055AED6DCD90281E5", "etag1", "", 10, t); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncode is the forwarder's side of the codec (one call per Kinesis record).
func BenchmarkEncode(b *testing.B) {
	ev := mustNew(b, "photos/2026/a.jpg", OpPut, "0055AED6DCD90281E5")
	ev.ForwardedAt = time.Unix(1700000001, 0)
	data, err := Encode(ev)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encode(ev); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRoundTrip encodes and decodes events with a short and a maximum-length key.
func BenchmarkRoundTrip(b *testing.B) {
	for _, c := range []struct{ name, key string }{
		{"short_key", "photos/2026/a.jpg"},
		{"max_key", strings.Repeat("k", MaxKeyLen)},
	} {
		b.Run(c.name, func(b *testing.B) {
			ev := mustNew(b, c.key, OpPut, "0055AED6DCD90281E5")
			b.ReportAllocs()
			for b.Loop() {
				data, err := Encode(ev)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := Decode(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPartitionKey covers both forms: bucket/key, and the hash of a key too long for
// Kinesis.
func BenchmarkPartitionKey(b *testing.B) {
	for _, c := range []struct{ name, key string }{
		{"fits", "photos/2026/a.jpg"},
		{"hashed", strings.Repeat("k", MaxKeyLen)},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if PartitionKey("in", c.key) == "" {
					b.Fatal("empty partition key")
				}
			}
		})
	}
}
