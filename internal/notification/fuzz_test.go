package notification

import (
	"errors"
	"os"
	"testing"

	"github.com/shardline/shardline/internal/envelope"
)

var knownReasons = map[string]bool{
	ReasonTestEvent:               true,
	ReasonNotObjectEvent:          true,
	ReasonUnknownEventName:        true,
	ReasonUnsupportedEventVersion: true,
	ReasonNoSequencer:             true,
	ReasonInvalidSequencer:        true,
	ReasonInvalidKey:              true,
	ReasonInvalidRecord:           true,
	ReasonMalformedBody:           true,
	ReasonEmptyNotification:       true,
}

// FuzzParse checks that Parse never panics and either refuses a body with an error wrapping
// ErrMalformed or returns at least one outcome, only valid events that survive the wire format
// unchanged, and only known skip reasons.
func FuzzParse(f *testing.F) {
	for _, file := range fixtureFiles(f) {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		res, err := Parse(body)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v (%T) does not wrap ErrMalformed", err, err)
			}
			if len(res.Events) != 0 || len(res.Skipped) != 0 {
				t.Fatalf("error %v came with a non-empty result", err)
			}
			return
		}
		if len(res.Events)+len(res.Skipped) == 0 {
			t.Fatal("accepted body yielded neither an event nor a skip")
		}
		if len(res.Events)+len(res.Skipped) > MaxRecords {
			t.Fatalf("%d outcomes exceed MaxRecords", len(res.Events)+len(res.Skipped))
		}
		for i, ev := range res.Events {
			if err := ev.Validate(); err != nil {
				t.Fatalf("event %d does not validate: %v\n%+v", i, err, ev)
			}
			wire, err := envelope.Encode(ev)
			if err != nil {
				t.Fatalf("event %d does not encode: %v\n%+v", i, err, ev)
			}
			back, err := envelope.Decode(wire)
			if err != nil {
				t.Fatalf("event %d does not decode: %v\n%s", i, err, wire)
			}
			if back != ev {
				t.Fatalf("event %d changed on the wire:\n got %+v\nwant %+v", i, back, ev)
			}
		}
		for _, s := range res.Skipped {
			if !knownReasons[s.Reason] {
				t.Fatalf("unknown skip reason %q (%s)", s.Reason, s.Detail)
			}
		}
	})
}
