package notification

import (
	"errors"
	"strings"
	"testing"

	"github.com/shardline/shardline/internal/envelope"
)

// TestParseHostileRecords walks the record-level cases of issue #4: every one either becomes a
// valid event or a skip with a stable reason (which the forwarder counts by label and logs); none
// refuses the body, so one bad record never makes the source redeliver the good ones.
func TestParseHostileRecords(t *testing.T) {
	check := strings.Repeat("✓", 341) // 1,023 bytes
	tests := []struct {
		name     string
		rec      obj
		wantKey  string // decoded key of the event; "" when the record is skipped
		wantSeq  string // normalised sequencer when an event is expected
		wantSkip string
	}{
		// Keys.
		{"key with '+' for space", putRec("my+photo.jpg", "0A", nil), "my photo.jpg", pad("0A"), ""},
		{"key with literal plus as %2B", putRec("c%2B%2B.jpg", "0A", nil), "c++.jpg", pad("0A"), ""},
		{"key with raw space", putRec("a b.jpg", "0A", nil), "a b.jpg", pad("0A"), ""},
		{"key with %-escapes", putRec("dir%2Fsub%20x%25.jpg", "0A", nil), "dir/sub x%.jpg", pad("0A"), ""},
		{"key with invalid escape", putRec("bad%zz.jpg", "0A", nil), "", "", ReasonInvalidKey},
		{"key with lone percent", putRec("100%", "0A", nil), "", "", ReasonInvalidKey},
		{"key with %u escape", putRec("%u2713.jpg", "0A", nil), "", "", ReasonInvalidKey},
		{"key with overlong UTF-8 slash", putRec("a%C0%AFb", "0A", nil), "", "", ReasonInvalidKey},
		{"key with UTF-16 surrogate", putRec("%ED%A0%80.jpg", "0A", nil), "", "", ReasonInvalidKey},
		{"key with unicode, encoded", putRec("%E2%9C%93+%C3%A9t%C3%A9.png", "0A", nil), "✓ été.png", pad("0A"), ""},
		{"key with unicode, raw", putRec("✓.png", "0A", nil), "✓.png", pad("0A"), ""},
		{"key in NFD stays NFD", putRec("e%CC%81.jpg", "0A", nil), "e\u0301.jpg", pad("0A"), ""},
		{"key with dot segments is opaque", putRec("%2E%2E%2F..%2Fetc%2Fpasswd", "0A", nil), "../../etc/passwd", pad("0A"), ""},
		{"key with NUL", putRec("a%00b", "0A", nil), "a\x00b", pad("0A"), ""},
		{"1,024-byte ASCII key", putRec(strings.Repeat("k", 1024), "0A", nil), strings.Repeat("k", 1024), pad("0A"), ""},
		{"1,024-byte unicode key, 3,070 bytes encoded", putRec(urlEncode(check+"k"), "0A", nil), check + "k", pad("0A"), ""},
		{"1,025-byte unicode key", putRec(urlEncode(check+"kk"), "0A", nil), "", "", ReasonInvalidRecord},
		{"empty key", putRec("", "0A", nil), "", "", ReasonInvalidRecord},
		{"key that decodes to empty", putRec("", "0A", func(r obj) { s3Object(r)["key"] = "" }), "", "", ReasonInvalidRecord},

		// Sequencers.
		{"sequencer of odd length is padded", putRec("k", "ABC", nil), "k", pad("ABC"), ""},
		{"sequencer in lower case is upper-cased", putRec("k", "0055aed6dcd90281e5", nil), "k", pad("0055AED6DCD90281E5"), ""},
		{"sequencer non-hex", putRec("k", "0055AED6DCD9028XYZ", nil), "", "", ReasonInvalidSequencer},
		{"sequencer with 0x prefix", putRec("k", "0x55", nil), "", "", ReasonInvalidSequencer},
		{"sequencer with whitespace", putRec("k", " 0055", nil), "", "", ReasonInvalidSequencer},
		{"sequencer of 33 digits", putRec("k", strings.Repeat("F", 33), nil), "", "", ReasonInvalidSequencer},
		{"sequencer missing", putRec("k", "", nil), "", "", ReasonNoSequencer},
		{"sequencer of wrong type", putRec("k", "0A", func(r obj) { s3Object(r)["sequencer"] = 10 }), "", "", ReasonInvalidRecord},

		// Missing and wrong fields, event names and versions.
		{"no object", putRec("k", "0A", func(r obj) { delete(r["s3"].(obj), "object") }), "", "", ReasonInvalidRecord},
		{"no bucket", putRec("k", "0A", func(r obj) { delete(r["s3"].(obj), "bucket") }), "", "", ReasonInvalidRecord},
		{"s3 of wrong type", putRec("k", "0A", func(r obj) { r["s3"] = "x" }), "", "", ReasonInvalidRecord},
		{"no eventName", putRec("k", "0A", func(r obj) { delete(r, "eventName") }), "", "", ReasonUnknownEventName},
		{"unknown eventName", putRec("k", "0A", func(r obj) { r["eventName"] = "ObjectMoved:Teleport" }), "", "", ReasonUnknownEventName},
		{"eventName only a prefix", putRec("k", "0A", func(r obj) { r["eventName"] = "s3:" }), "", "", ReasonUnknownEventName},
		{"eventVersion 2.9 (minor additions)", putRec("k", "0A", func(r obj) { r["eventVersion"] = "2.9" }), "k", pad("0A"), ""},
		{"eventVersion 3.0", putRec("k", "0A", func(r obj) { r["eventVersion"] = "3.0" }), "", "", ReasonUnsupportedEventVersion},
		{"eventVersion as number", putRec("k", "0A", func(r obj) { r["eventVersion"] = 2.1 }), "", "", ReasonInvalidRecord},

		// Fields that would make the envelope exceed a Kinesis record or a DynamoDB item.
		{"huge ETag", putRec("k", "0A", func(r obj) { s3Object(r)["eTag"] = strings.Repeat("e", 2<<20) }), "", "", ReasonInvalidRecord},
		{"huge versionId", putRec("k", "0A", func(r obj) { s3Object(r)["versionId"] = strings.Repeat("v", envelope.MaxFieldLen+1) }), "", "", ReasonInvalidRecord},
		{"huge eventName", putRec("k", "0A", func(r obj) { r["eventName"] = "ObjectCreated:" + strings.Repeat("x", 2<<20) }), "", "", ReasonInvalidRecord},
		{"huge eventSource", putRec("k", "0A", func(r obj) { r["eventSource"] = strings.Repeat("s", 2<<20) }), "", "", ReasonInvalidRecord},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := mustParse(t, s3Body(t, tc.rec))
			if tc.wantSkip != "" {
				if len(res.Events) != 0 || len(res.Skipped) != 1 || res.Skipped[0].Reason != tc.wantSkip {
					t.Fatalf("got %d events and skips %+v, want one skip %q", len(res.Events), res.Skipped, tc.wantSkip)
				}
				if d := res.Skipped[0].Detail; len(d) > 8<<10 {
					t.Errorf("skip detail is %d bytes: hostile values must be clipped", len(d))
				}
				return
			}
			if len(res.Events) != 1 || len(res.Skipped) != 0 {
				t.Fatalf("got events %+v and skips %+v, want one event", res.Events, res.Skipped)
			}
			ev := res.Events[0]
			if ev.Key != tc.wantKey || ev.Sequencer != tc.wantSeq {
				t.Errorf("event key %q sequencer %s, want %q %s", ev.Key, ev.Sequencer, tc.wantKey, tc.wantSeq)
			}
			if err := ev.Validate(); err != nil {
				t.Errorf("event does not validate: %v", err)
			}
			if data, err := envelope.Encode(ev); err != nil || len(data) > envelope.MaxEncodedLen {
				t.Errorf("event does not encode within %d bytes: %d, %v", envelope.MaxEncodedLen, len(data), err)
			}
		})
	}
}

// TestParseHostileBodies covers bodies that are refused whole (the webhook answers 400, the Lambda
// counts and acknowledges them) and bodies whose damage is confined to one wrapped message.
func TestParseHostileBodies(t *testing.T) {
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	put := s3Body(t, s3Rec("ObjectCreated:Put", "k", "0a"))
	tests := []struct {
		name      string
		body      []byte
		wantErr   bool     // refused whole with an error wrapping ErrMalformed
		wantEvts  int      // events when accepted
		wantSkips []string // skip reasons when accepted
	}{
		{"binary", []byte("\x00\x01\x02\xff"), true, 0, nil},
		{"not JSON", []byte("Records: []"), true, 0, nil},
		{"truncated", put[:len(put)-3], true, 0, nil},
		{"invalid UTF-8 inside strings is replaced, not fatal", []byte(strings.Replace(string(put), `"k"`, "\"k\xff\"", 1)), false, 1, nil},
		{"deeply nested arrays", []byte(deep(200_000)), true, 0, nil},
		{"deeply nested Records element", []byte(`{"Records":[` + deep(200_000) + `]}`), true, 0, nil},
		{"deeply nested inside a record field", []byte(`{"Records":[{"eventSource":"aws:s3","x":` + deep(5_000) + `}]}`), false, 0, []string{ReasonInvalidRecord}},
		{"deeply nested SQS body", sqsBody(t, []byte(deep(200_000)), put), false, 1, []string{ReasonMalformedBody}},
		{"s3:TestEvent", []byte(`{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2024-05-14T09:00:00.000Z","Bucket":"in"}`), false, 0, []string{ReasonTestEvent}},
		{"s3:TestEvent among records in SQS", sqsBody(t, []byte(`{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"in"}`), put), false, 1, []string{ReasonTestEvent}},
		{"good and bad records together", s3Body(t, s3Rec("ObjectCreated:Put", "a", "0a"), s3Rec("ObjectCreated:Put", "bad%zz", "0b"),
			s3Rec("Bogus:Event", "c", "0c"), s3Rec("ObjectRemoved:Delete", "d", "")), false, 1,
			[]string{ReasonInvalidKey, ReasonUnknownEventName, ReasonNoSequencer}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Parse(tc.body)
			if tc.wantErr {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("Parse error %v, want one wrapping ErrMalformed", err)
				}
				if len(err.Error()) > 8<<10 {
					t.Errorf("error text is %d bytes: hostile input must be clipped", len(err.Error()))
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if len(res.Events) != tc.wantEvts {
				t.Errorf("%d events, want %d: %+v", len(res.Events), tc.wantEvts, res.Events)
			}
			if got := skipReasons(res); strings.Join(got, ",") != strings.Join(tc.wantSkips, ",") {
				t.Errorf("skips %q, want %q", got, tc.wantSkips)
			}
		})
	}
}

// urlEncode percent-encodes every byte that is not an unreserved ASCII character, as S3 does.
func urlEncode(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.', c == '~', c == '/':
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}
