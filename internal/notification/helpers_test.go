package notification

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shardline/shardline/internal/envelope"
	"github.com/shardline/shardline/internal/sequencer"
)

// wantEvent is the part of an envelope event a test states; V and ID are checked separately.
type wantEvent struct {
	source, eventName, bucket, key, op, sequencer, etag, versionID string
	size                                                           int64
	eventTime                                                      string // RFC 3339; "" for the zero time
}

// pad is the normalised form of a sequencer, spelled out independently of package sequencer.
func pad(seq string) string {
	return strings.ToUpper(seq) + strings.Repeat("0", sequencer.Width-len(seq))
}

func readFixture(tb testing.TB, name string) []byte {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// fixtureFiles lists every JSON fixture: ours under testdata/ and the captured MinIO bodies
// under testdata/minio/.
func fixtureFiles(tb testing.TB) []string {
	tb.Helper()
	var files []string
	for _, pattern := range []string{"testdata/*.json", "testdata/minio/*.json"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			tb.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		tb.Fatal("no fixtures under testdata/")
	}
	return files
}

func skipReasons(res Result) []string {
	var reasons []string
	for _, s := range res.Skipped {
		reasons = append(reasons, s.Reason)
	}
	return reasons
}

// checkResult compares a Result with the expected events, in order, and skip reasons.
func checkResult(t *testing.T, res Result, want []wantEvent, wantSkips []string) {
	t.Helper()
	if got := skipReasons(res); !slices.Equal(got, wantSkips) {
		t.Errorf("skip reasons = %q, want %q (skips: %+v)", got, wantSkips, res.Skipped)
	}
	if len(res.Events) != len(want) {
		t.Fatalf("got %d events, want %d: %+v", len(res.Events), len(want), res.Events)
	}
	for i, ev := range res.Events {
		w := want[i]
		if err := ev.Validate(); err != nil {
			t.Errorf("event %d does not validate: %v", i, err)
		}
		if ev.V != envelope.Version || ev.ID != envelope.ID(w.bucket, w.key, w.sequencer, w.op) {
			t.Errorf("event %d: v=%d id=%s, want v=%d and the id of (bucket, key, sequencer, op)", i, ev.V, ev.ID, envelope.Version)
		}
		got := wantEvent{ev.Source, ev.EventName, ev.Bucket, ev.Key, ev.Op, ev.Sequencer, ev.ETag, ev.VersionID, ev.Size, ""}
		if !ev.EventTime.IsZero() {
			got.eventTime = ev.EventTime.Format(time.RFC3339Nano)
		}
		if got != w {
			t.Errorf("event %d:\n got %+v\nwant %+v", i, got, w)
		}
	}
}

// mustParse parses body, failing the test when Parse refuses it (a body with a
// *MalformedError or a *LimitError).
func mustParse(t *testing.T, body []byte) Result {
	t.Helper()
	res, err := Parse(body)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return res
}

// checkOne checks the Result of a body of one record: only the skip reason skip when it is not
// "", otherwise only the event want.
func checkOne(t *testing.T, res Result, want wantEvent, skip string) {
	t.Helper()
	if skip != "" {
		checkResult(t, res, nil, []string{skip})
		return
	}
	checkResult(t, res, []wantEvent{want}, nil)
}

// s3RecEvent is the event a record s3Rec built becomes, for eventName (without MinIO's "s3:"),
// the decoded key, op and the sequencer before normalisation.
func s3RecEvent(eventName, key, op, seq string) wantEvent {
	return wantEvent{"aws:s3", eventName, "in", key, op, pad(seq), "abc123", "", 10, "2024-05-14T09:21:07.512Z"}
}

// Builders of notification bodies for inline cases.

func mustJSON(tb testing.TB, v any) []byte {
	tb.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

type obj = map[string]any

// s3Rec is an AWS S3 event record; fields may be edited before marshalling.
func s3Rec(name, key, seq string) obj {
	o := obj{"key": key, "size": 10, "eTag": "abc123"}
	if seq != "" {
		o["sequencer"] = seq
	}
	return obj{
		"eventVersion": "2.1",
		"eventSource":  "aws:s3",
		"eventTime":    "2024-05-14T09:21:07.512Z",
		"eventName":    name,
		"s3": obj{
			"s3SchemaVersion": "1.0",
			"bucket":          obj{"name": "in"},
			"object":          o,
		},
	}
}

// putRec is s3Rec's ObjectCreated:Put record of key and seq, changed by edit when it is not nil.
func putRec(key, seq string, edit func(r obj)) obj {
	r := s3Rec("ObjectCreated:Put", key, seq)
	if edit != nil {
		edit(r)
	}
	return r
}

// s3Object is the s3.object member of a record s3Rec built, to edit.
func s3Object(r obj) obj { return r["s3"].(obj)["object"].(obj) }

func s3Body(tb testing.TB, recs ...obj) []byte {
	tb.Helper()
	return mustJSON(tb, obj{"Records": recs})
}

func sqsBody(tb testing.TB, bodies ...[]byte) []byte {
	tb.Helper()
	var recs []obj
	for i, b := range bodies {
		recs = append(recs, obj{"messageId": "m" + string(rune('0'+i)), "eventSource": "aws:sqs", "body": string(b)})
	}
	return mustJSON(tb, obj{"Records": recs})
}

func snsEnvelopeBody(tb testing.TB, msg []byte) []byte {
	tb.Helper()
	return mustJSON(tb, obj{"Type": "Notification", "MessageId": "n1", "TopicArn": "arn:aws:sns:eu-west-1:1:t", "Message": string(msg)})
}

func snsLambdaBody(tb testing.TB, msg []byte) []byte {
	tb.Helper()
	return mustJSON(tb, obj{"Records": []obj{{"EventSource": "aws:sns", "EventVersion": "1.0",
		"Sns": obj{"Type": "Notification", "MessageId": "n1", "Message": string(msg)}}}})
}

func eventBridgeBody(tb testing.TB, detailType, key, seq string) []byte {
	tb.Helper()
	return mustJSON(tb, obj{
		"version": "0", "id": "e1", "detail-type": detailType, "source": "aws.s3",
		"account": "123456789012", "time": "2024-05-14T09:21:07Z", "region": "eu-west-1",
		"detail": obj{
			"version": "0",
			"bucket":  obj{"name": "in"},
			"object":  obj{"key": key, "size": 10, "etag": "abc123", "sequencer": seq},
			"reason":  "PutObject",
		},
	})
}
