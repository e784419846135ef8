package envelope

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func mustNew(t testing.TB, key, op, seq string) Event {
	t.Helper()
	ev, err := New("aws:s3", "ObjectCreated:Put", "in", key, op, seq, "etag1", "", 10, time.Unix(1700000000, 0))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return ev
}

func TestRoundTrip(t *testing.T) {
	ev := mustNew(t, "a b/c+d.jpg", OpPut, "0055aed6dcd90281e5")
	ev.ForwardedAt = time.Unix(1700000001, 0).UTC()
	data, err := Encode(ev)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if got != ev {
		t.Fatalf("round trip changed event:\n got %+v\nwant %+v", got, ev)
	}
}

func TestIDDeterministic(t *testing.T) {
	a := mustNew(t, "k.jpg", OpPut, "0A")
	b := mustNew(t, "k.jpg", OpPut, "0a00")
	if a.ID != b.ID {
		t.Fatalf("same event, different ids: %s %s", a.ID, b.ID)
	}
	c := mustNew(t, "k.jpg", OpDelete, "0A")
	if a.ID == c.ID {
		t.Fatal("put and delete share an id")
	}
}

func TestPartitionKey(t *testing.T) {
	short := PartitionKey("in", "a.jpg")
	if short != "in/a.jpg" {
		t.Fatalf("PartitionKey = %q", short)
	}
	long := strings.Repeat("k", 1024)
	pk := PartitionKey("in", long)
	if len(pk) > MaxPartitionKeyLen || pk != PartitionKey("in", long) {
		t.Fatalf("long partition key %q (len %d) not stable or too long", pk, len(pk))
	}
	if pk == PartitionKey("in", long[:1023]) {
		t.Fatal("different keys share a hashed partition key")
	}
}

func TestDecodeErrors(t *testing.T) {
	good := mustNew(t, "k.jpg", OpPut, "0A")
	data, _ := Encode(good)
	tests := []struct {
		name    string
		body    string
		version bool
	}{
		{"not json", "hello", false},
		{"array", "[1,2]", false},
		{"missing version", `{"bucket":"in"}`, false},
		{"unknown version", strings.Replace(string(data), `"v":1`, `"v":2`, 1), true},
		{"bad op", strings.Replace(string(data), `"op":"put"`, `"op":"copy"`, 1), false},
		{"tampered key", strings.Replace(string(data), `"key":"k.jpg"`, `"key":"x.jpg"`, 1), false},
		{"empty bucket", strings.Replace(string(data), `"bucket":"in"`, `"bucket":""`, 1), false},
		{"unnormalised sequencer", strings.Replace(string(data), good.Sequencer, "0a", 1), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode([]byte(tc.body))
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Decode(%s) error = %v, want ErrInvalid", tc.body, err)
			}
			var ve *VersionError
			if errors.As(err, &ve) != tc.version {
				t.Fatalf("VersionError = %v, want %v (%v)", !tc.version, tc.version, err)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	good, _ := Encode(mustNew(f, "k.jpg", OpPut, "0A"))
	for _, s := range []string{string(good), "", "{}", `{"v":1}`, `{"v":2}`, "null", `{"v":1,"key":"\u0000"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, err := Decode(data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		again, err := Encode(ev)
		if err != nil {
			t.Fatalf("decoded event does not encode: %v", err)
		}
		if _, err := Decode(again); err != nil {
			t.Fatalf("re-encoded event does not decode: %v", err)
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	data, _ := Encode(mustNew(b, "photos/2026/a.jpg", OpPut, "0055AED6DCD90281E5"))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(data); err != nil {
			b.Fatal(err)
		}
	}
}
