package envelope

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
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

// TestDecodeHostile feeds Decode records a worker may find on the stream that are not a valid
// version-1 envelope: each must fail with an error wrapping ErrInvalid that names the field (or
// is a *VersionError), never panic, so the processor can dead-letter it with a reason.
func TestDecodeHostile(t *testing.T) {
	good := mustNew(t, "k.jpg", OpPut, "0A")
	data, err := Encode(good)
	if err != nil {
		t.Fatal(err)
	}
	wire := string(data)
	set := func(field, value string) string {
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		var v any
		if err := json.Unmarshal([]byte(value), &v); err != nil {
			t.Fatal(err)
		}
		m[field] = v
		b, _ := json.Marshal(m)
		return string(b)
	}
	long := func(n int) string { return strconv.Quote(strings.Repeat("x", n)) }
	tests := []struct {
		name        string
		body        string
		wantField   string // FieldError.Field; "" for a *VersionError
		wantVersion int
	}{
		{"empty record", "", "(body)", 0},
		{"not JSON", "\x00\x01binary", "(body)", 0},
		{"KPL aggregate magic", "\xf3\x89\x9a\xc2garbage", "(body)", 0},
		{"truncated", wire[:len(wire)/2], "(body)", 0},
		{"JSON array", `[{"v":1}]`, "(body)", 0},
		{"deep nesting", strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000), "(body)", 0},
		{"deep nesting inside a field", `{"v":1,"x":` + strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000) + `}`, "(body)", 0},
		{"version missing", `{"bucket":"in","key":"k"}`, "v", 0},
		{"version null", set("v", "null"), "v", 0},
		{"version as string", set("v", `"1"`), "(body)", 0},
		{"version fractional", strings.Replace(wire, `"v":1`, `"v":1.5`, 1), "(body)", 0},
		{"version out of range", strings.Replace(wire, `"v":1`, `"v":1e400`, 1), "(body)", 0},
		{"version 2", set("v", "2"), "", 2},
		{"version 0", set("v", "0"), "", 0},
		{"version -1", set("v", "-1"), "", -1},
		{"duplicate v, last wins", strings.Replace(wire, `"v":1`, `"v":1,"v":2`, 1), "", 2},
		{"field of wrong type", set("key", "7"), "(body)", 0},
		{"bucket empty", set("bucket", `""`), "bucket", 0},
		{"bucket too long", set("bucket", long(MaxBucketLen+1)), "bucket", 0},
		{"key empty", set("key", `""`), "key", 0},
		{"key over 1024 bytes", set("key", long(MaxKeyLen+1)), "key", 0},
		{"op unknown", set("op", `"copy"`), "op", 0},
		{"sequencer lower case", set("sequencer", `"`+strings.ToLower(good.Sequencer)+`"`), "sequencer", 0},
		{"sequencer odd length, unpadded", set("sequencer", `"0A0"`), "sequencer", 0},
		{"sequencer not hex", set("sequencer", `"0X`+good.Sequencer[2:]+`"`), "sequencer", 0},
		{"sequencer empty", set("sequencer", `""`), "sequencer", 0},
		{"id tampered", set("id", `"00000000000000000000000000000000"`), "id", 0},
		{"key tampered", set("key", `"x.jpg"`), "id", 0},
		{"key not UTF-8 (decoded as U+FFFD, so the id no longer matches)", strings.Replace(wire, `"key":"k.jpg"`, "\"key\":\"k\xff.jpg\"", 1), "id", 0},
		{"size negative", set("size", "-1"), "size", 0},
		{"source too long", set("source", long(MaxFieldLen+1)), "source", 0},
		{"eventName too long", set("eventName", long(MaxFieldLen+1)), "eventName", 0},
		{"etag too long", set("etag", long(MaxFieldLen+1)), "etag", 0},
		{"versionId too long (envelope near the Kinesis record size)", set("versionId", long(1<<20-1024)), "versionId", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode([]byte(tc.body))
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Decode error = %v, want one wrapping ErrInvalid", err)
			}
			var ve *VersionError
			var fe *FieldError
			switch {
			case tc.wantField == "":
				if !errors.As(err, &ve) || ve.Got != tc.wantVersion {
					t.Fatalf("error %v, want a *VersionError for version %d", err, tc.wantVersion)
				}
			case !errors.As(err, &fe) || fe.Field != tc.wantField:
				t.Fatalf("error %v, want a *FieldError for %s", err, tc.wantField)
			}
			if len(err.Error()) > 1024 {
				t.Errorf("error text is %d bytes: hostile values must be clipped", len(err.Error()))
			}
		})
	}
}

// TestDecodeAcceptsUnknownFields keeps the schema open for additions within version 1
// (docs/envelope.md): a field this build does not know, of any JSON type and anywhere in the
// object, is ignored, and the event decodes as without it.
func TestDecodeAcceptsUnknownFields(t *testing.T) {
	ev := mustNew(t, "k.jpg", OpPut, "0A")
	data, err := Encode(ev)
	if err != nil {
		t.Fatal(err)
	}
	body := string(data)
	first := func(members string) string { return "{" + members + "," + body[1:] }
	last := func(members string) string { return body[:len(body)-1] + "," + members + "}" }
	tests := []struct{ name, body string }{
		{"an object first", first(`"future":{"nested":[1,2]}`)},
		{"a string last", last(`"contentType":"image/jpeg"`)},
		{"null", last(`"region":null`)},
		{"an array of mixed values", last(`"tags":["a",1,true,null,{}]`)},
		{"a number beyond float64", last(`"huge":1e400`)},
		{"a fraction", last(`"priority":7.5`)},
		{"several", first(`"a":1,"b":"2","c":[3]`)},
		{"a name with a version in it", last(`"v2":2,"schemaVersion":"2"`)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decode([]byte(tc.body))
			if err != nil {
				t.Fatalf("Decode(%s): %v", tc.body, err)
			}
			if !sameEvent(got, ev) {
				t.Fatalf("got %+v, want %+v", got, ev)
			}
		})
	}
}

// TestFieldLimits checks each bounded field at and one byte over its limit.
func TestFieldLimits(t *testing.T) {
	tests := []struct {
		field string
		limit int
		set   func(e *Event, v string)
	}{
		{"bucket", MaxBucketLen, func(e *Event, v string) { e.Bucket = v }},
		{"key", MaxKeyLen, func(e *Event, v string) { e.Key = v }},
		{"source", MaxFieldLen, func(e *Event, v string) { e.Source = v }},
		{"eventName", MaxFieldLen, func(e *Event, v string) { e.EventName = v }},
		{"etag", MaxFieldLen, func(e *Event, v string) { e.ETag = v }},
		{"versionId", MaxFieldLen, func(e *Event, v string) { e.VersionID = v }},
	}
	for _, tc := range tests {
		for _, n := range []int{tc.limit, tc.limit + 1} {
			t.Run(fmt.Sprintf("%s %d bytes", tc.field, n), func(t *testing.T) {
				ev := mustNew(t, "k.jpg", OpPut, "0A")
				tc.set(&ev, strings.Repeat("é", n/2)+strings.Repeat("x", n%2))
				ev.ID = ID(ev.Bucket, ev.Key, ev.Sequencer, ev.Op)
				_, err := Encode(ev)
				if n <= tc.limit {
					if err != nil {
						t.Fatalf("Encode at the limit: %v", err)
					}
					return
				}
				var fe *FieldError
				if !errors.As(err, &fe) || fe.Field != tc.field {
					t.Fatalf("Encode error %v, want a *FieldError for %s", err, tc.field)
				}
			})
		}
	}
}

// TestEncodeWorstCaseFitsKinesis builds the largest envelope the limits allow, every byte one
// that JSON escapes as six, and checks it stays within MaxEncodedLen, which with the longest
// partition key fits a Kinesis record: an envelope can never be too large to forward.
func TestEncodeWorstCaseFitsKinesis(t *testing.T) {
	worst := func(n int) string { return strings.Repeat("\x01", n) }
	ev := Event{
		V: Version, Source: worst(MaxFieldLen), EventName: worst(MaxFieldLen),
		Bucket: worst(MaxBucketLen), Key: worst(MaxKeyLen), Op: OpDelete,
		Sequencer: strings.Repeat("F", 32), ETag: worst(MaxFieldLen), VersionID: worst(MaxFieldLen),
		Size:      1<<63 - 1,
		EventTime: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), ForwardedAt: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
	}
	ev.ID = ID(ev.Bucket, ev.Key, ev.Sequencer, ev.Op)
	data, err := Encode(ev)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	const kinesisRecord = 1 << 20 // data plus partition key
	if len(data) > MaxEncodedLen || len(data)+MaxPartitionKeyLen > kinesisRecord {
		t.Fatalf("worst-case envelope is %d bytes; limit %d, Kinesis record %d", len(data), MaxEncodedLen, kinesisRecord)
	}
	t.Logf("worst-case envelope: %d bytes", len(data))
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

// FuzzDecode checks that Decode never panics, that every failure wraps ErrInvalid, and that an
// accepted record re-encodes within MaxEncodedLen to an event that decodes to the same event.
// Its seed corpus is f.Add below plus testdata/fuzz/FuzzDecode.
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
		if len(again) > MaxEncodedLen {
			t.Fatalf("re-encoded event is %d bytes, more than %d", len(again), MaxEncodedLen)
		}
		back, err := Decode(again)
		if err != nil {
			t.Fatalf("re-encoded event does not decode: %v", err)
		}
		if !sameEvent(back, ev) {
			t.Fatalf("event changed on a round trip:\n got %+v\nwant %+v", back, ev)
		}
	})
}

// sameEvent compares events, times by instant (a decoded time keeps its zone offset).
func sameEvent(a, b Event) bool {
	ta, fa, tb, fb := a.EventTime, a.ForwardedAt, b.EventTime, b.ForwardedAt
	a.EventTime, a.ForwardedAt, b.EventTime, b.ForwardedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	return a == b && ta.Equal(tb) && fa.Equal(fb)
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
