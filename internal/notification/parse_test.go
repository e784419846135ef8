package notification

import (
	"errors"
	"strings"
	"testing"
)

func TestParseFixtures(t *testing.T) {
	const bucket = "shardline-input"
	redFlower := wantEvent{"aws:s3", "ObjectCreated:Put", bucket, "photos/2024/red flower.jpg", "put",
		pad("0055AED6DCD90281E5"), "d41d8cd98f00b204e9800998ecf8427e", "096fKKXTRTtl3on89fVO.nfljtsv6qko", 1024,
		"2024-05-14T09:21:07.512Z"}
	ebCreated := wantEvent{"aws.s3", "Object Created", bucket, "photos/c++ notes %2F raw.jpg", "put",
		pad("00617F08299329D189"), "b1946ac92492d2347c6235b4d2611184", "IYV3p45BhZA1uQ3PVc2yAvg1EXAMPLE", 5,
		"2024-05-14T09:21:07Z"}
	tests := []struct {
		name      string
		file      string
		want      []wantEvent
		wantSkips []string
	}{
		{
			name: "plain S3 put, '+' is a space",
			file: "s3_put.json",
			want: []wantEvent{redFlower},
		},
		{
			name: "S3 batch: unicode, %2B, quoted etag, lower-case sequencer, restore and tagging skipped",
			file: "s3_multi.json",
			want: []wantEvent{
				{"aws:s3", "ObjectCreated:Put", bucket, "uploads/✓.png", "put", pad("0063F1A2B3C4D5E6F7"),
					"9b2cf535f27731c974343645a3985328", "", 52311, "2024-05-14T09:21:07.512Z"},
				{"aws:s3", "ObjectCreated:Copy", bucket, "docs/c++ primer.jpg", "put", pad("0063F1A2B3C4D5E6F8"),
					"6805f2cfc46c0f04559748bb039d69ae", "", 2048, "2024-05-14T09:21:07.512Z"},
				{"aws:s3", "ObjectCreated:CompleteMultipartUpload", bucket, "raw/big scan.tiff", "put", pad("0063F1A2B3C4D5E6F9"),
					"e3c1b4a5f1b8b4b6c3b7d0b1c2d3e4f5-14", "", 73400320, "2024-05-14T09:21:07.512Z"},
			},
			wantSkips: []string{ReasonNotObjectEvent, ReasonNotObjectEvent},
		},
		{
			name: "delete marker is a delete",
			file: "s3_delete_marker.json",
			want: []wantEvent{{"aws:s3", "ObjectRemoved:DeleteMarkerCreated", bucket, "photos/2024/red flower.jpg", "delete",
				pad("0055AED6DCD9028200"), "", "CtS5DpOqSmFwRFE4z0vc3DY2oWp.9qhy", 0, "2024-05-14T09:21:07.512Z"}},
		},
		{
			name: "lifecycle expirations are deletes",
			file: "s3_lifecycle_expiration.json",
			want: []wantEvent{
				{"aws:s3", "LifecycleExpiration:Delete", bucket, "tmp/expired 1.jpg", "delete", pad("0065A0B1C2D3E4F501"),
					"", "", 0, "2024-06-01T00:00:03Z"},
				{"aws:s3", "LifecycleExpiration:DeleteMarkerCreated", bucket, "tmp/expired 2.jpg", "delete", pad("0065A0B1C2D3E4F502"),
					"", "Vd8sIvQw2sM4p9m9bzs8cq5y.Ylj_wNn", 0, "2024-06-01T00:00:04Z"},
			},
		},
		{
			name:      "s3:TestEvent is skipped",
			file:      "s3_test_event.json",
			wantSkips: []string{ReasonTestEvent},
		},
		{
			name: "SQS-wrapped S3 event and test event",
			file: "sqs_s3.json",
			want: []wantEvent{{"aws:s3", "ObjectCreated:Post", bucket, "forms/scan 001.jpg", "put", pad("0066B1C2D3E4F5A6B7"),
				"c5c3e0cbd4b6a7f8091a2b3c4d5e6f70", "", 88123, "2024-05-14T09:21:07.512Z"}},
			wantSkips: []string{ReasonTestEvent},
		},
		{
			name: "SQS wrapping an SNS envelope wrapping an S3 delete",
			file: "sqs_sns_s3.json",
			want: []wantEvent{{"aws:s3", "ObjectRemoved:Delete", bucket, "photos/old pic.jpg", "delete", pad("0066B1C2D3E4F5A6C0"),
				"", "", 0, "2024-05-14T09:21:07.512Z"}},
		},
		{
			name: "Lambda SNS event",
			file: "sns_lambda_s3.json",
			want: []wantEvent{redFlower},
		},
		{
			name: "raw SNS envelope",
			file: "sns_envelope_s3.json",
			want: []wantEvent{{"aws:s3", "ObjectCreated:Put", bucket, "a b/c.jpg", "put", pad("0066B1C2D3E4F5A6C1"),
				"0f343b0931126a20f133d67c2b018a3b", "", 77, "2024-05-14T09:21:07.512Z"}},
		},
		{
			name: "EventBridge Object Created keeps the key raw",
			file: "eventbridge_object_created.json",
			want: []wantEvent{ebCreated},
		},
		{
			name: "EventBridge lifecycle expiration is a delete",
			file: "eventbridge_object_deleted.json",
			want: []wantEvent{{"aws.s3", "Object Deleted", bucket, "tmp/expired 3.jpg", "delete", pad("0065A0B1C2D3E4F503"),
				"", "d6sLbz4QRJ9xzC9hOUNoYvL.EXAMPLE", 0, "2024-06-01T00:00:05Z"}},
		},
		{
			name:      "EventBridge restore is not an object event",
			file:      "eventbridge_restore_completed.json",
			wantSkips: []string{ReasonNotObjectEvent},
		},
		{
			name: "SQS-wrapped EventBridge event",
			file: "sqs_eventbridge.json",
			want: []wantEvent{ebCreated},
		},
		{
			name: "MinIO webhook put: s3: prefix stripped, %2F and '+' decoded",
			file: "minio_webhook_put.json",
			want: []wantEvent{{"minio:s3", "ObjectCreated:Put", "input", "dir/obj 1.jpg", "put", pad("17D2B5F3A1C0E9B4"),
				"5d41402abc4b2a76b9719d911017c592", "", 3145, "2024-05-14T09:21:07.512Z"}},
		},
		{
			name: "MinIO webhook delete",
			file: "minio_webhook_delete.json",
			want: []wantEvent{{"minio:s3", "ObjectRemoved:Delete", "input", "dir/obj 1.jpg", "delete", pad("17D2B5F3A9D7C2E1"),
				"", "", 0, "2024-05-14T09:25:00.004Z"}},
		},
		{
			name:      "MinIO PutRetention changes no content",
			file:      "minio_webhook_put_retention.json",
			wantSkips: []string{ReasonNotObjectEvent},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := mustParse(t, readFixture(t, tc.file))
			checkResult(t, res, tc.want, tc.wantSkips)
		})
	}
}

func TestParseKeys(t *testing.T) {
	tests := []struct {
		name    string
		rawKey  string
		want    string // decoded key; "" when the record must be skipped
		wantWhy string // skip reason when want is ""
	}{
		{"plus is space, %2F is slash", "a+b%2Fc.jpg", "a b/c.jpg", ""},
		{"percent-encoded UTF-8", "%E2%9C%93.png", "✓.png", ""},
		{"literal plus as %2B", "c%2B%2B.jpg", "c++.jpg", ""},
		{"unencoded slash kept", "dir/sub/x.jpg", "dir/sub/x.jpg", ""},
		{"%20 is also a space", "a%20b.jpg", "a b.jpg", ""},
		{"percent sign as %25", "100%25.jpg", "100%.jpg", ""},
		{"invalid escape", "bad%zz.jpg", "", ReasonInvalidKey},
		{"truncated escape", "bad%4", "", ReasonInvalidKey},
		{"decodes to invalid UTF-8", "%FF%FE.jpg", "", ReasonInvalidKey},
		{"empty key", "", "", ReasonInvalidRecord},
		{"1024 decoded bytes, longer encoded", strings.Repeat("%41", 1024), strings.Repeat("A", 1024), ""},
		{"longer than 1024 bytes", strings.Repeat("k", 1025), "", ReasonInvalidRecord},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := mustParse(t, s3Body(t, s3Rec("ObjectCreated:Put", tc.rawKey, "0a")))
			checkOne(t, res, s3RecEvent("ObjectCreated:Put", tc.want, "put", "0A"), tc.wantWhy)
		})
	}
}

func TestParseEventBridgeKeyIsRaw(t *testing.T) {
	for _, key := range []string{"c++ notes.jpg", "a+b%2Fc.jpg", "bad%zz"} {
		t.Run(key, func(t *testing.T) {
			res := mustParse(t, eventBridgeBody(t, "Object Created", key, "00617F08299329D189"))
			checkResult(t, res, []wantEvent{{"aws.s3", "Object Created", "in", key, "put", pad("00617F08299329D189"), "abc123", "", 10,
				"2024-05-14T09:21:07Z"}}, nil)
		})
	}
}

func TestParseEventNames(t *testing.T) {
	tests := []struct {
		name      string
		eventName string
		wantOp    string // "" when skipped
		wantSkip  string
	}{
		{"put", "ObjectCreated:Put", "put", ""},
		{"post", "ObjectCreated:Post", "put", ""},
		{"copy", "ObjectCreated:Copy", "put", ""},
		{"multipart", "ObjectCreated:CompleteMultipartUpload", "put", ""},
		{"delete", "ObjectRemoved:Delete", "delete", ""},
		{"delete marker", "ObjectRemoved:DeleteMarkerCreated", "delete", ""},
		{"lifecycle delete", "LifecycleExpiration:Delete", "delete", ""},
		{"lifecycle delete marker", "LifecycleExpiration:DeleteMarkerCreated", "delete", ""},
		{"minio prefix put", "s3:ObjectCreated:Put", "put", ""},
		{"minio delete all versions", "s3:ObjectRemoved:DeleteAllVersions", "delete", ""},
		{"minio no-op delete", "s3:ObjectRemoved:NoOP", "delete", ""},
		{"restore post", "ObjectRestore:Post", "", ReasonNotObjectEvent},
		{"restore completed", "ObjectRestore:Completed", "", ReasonNotObjectEvent},
		{"restore delete", "ObjectRestore:Delete", "", ReasonNotObjectEvent},
		{"replication", "Replication:OperationFailedReplication", "", ReasonNotObjectEvent},
		{"tagging", "ObjectTagging:Put", "", ReasonNotObjectEvent},
		{"acl", "ObjectAcl:Put", "", ReasonNotObjectEvent},
		{"transition", "LifecycleTransition", "", ReasonNotObjectEvent},
		{"intelligent tiering", "IntelligentTiering", "", ReasonNotObjectEvent},
		{"rrs lost", "ReducedRedundancyLostObject", "", ReasonNotObjectEvent},
		{"minio get", "s3:ObjectAccessed:Get", "", ReasonNotObjectEvent},
		{"minio head", "s3:ObjectAccessed:Head", "", ReasonNotObjectEvent},
		{"minio put retention", "s3:ObjectCreated:PutRetention", "", ReasonNotObjectEvent},
		{"minio put legal hold", "s3:ObjectCreated:PutLegalHold", "", ReasonNotObjectEvent},
		{"minio put tagging", "s3:ObjectCreated:PutTagging", "", ReasonNotObjectEvent},
		{"minio scanner", "s3:Scanner:ManyVersions", "", ReasonNotObjectEvent},
		{"unknown family", "ObjectTeleported:Beam", "", ReasonUnknownEventName},
		{"missing", "", "", ReasonUnknownEventName},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := mustParse(t, s3Body(t, s3Rec(tc.eventName, "k.jpg", "0a")))
			checkOne(t, res, s3RecEvent(strings.TrimPrefix(tc.eventName, "s3:"), "k.jpg", tc.wantOp, "0A"), tc.wantSkip)
		})
	}
}

func TestParseRecordSkips(t *testing.T) {
	rec := func(edit func(r obj)) obj { return putRec("k.jpg", "0055AED6DCD90281E5", edit) }
	tests := []struct {
		name     string
		rec      obj
		wantSkip string // "" when the record becomes an event
	}{
		{"event version 2.0", rec(func(r obj) { r["eventVersion"] = "2.0" }), ""},
		{"event version 2.2", rec(func(r obj) { r["eventVersion"] = "2.2" }), ""},
		{"event version 2.3", rec(func(r obj) { r["eventVersion"] = "2.3" }), ""},
		{"event version 1.0", rec(func(r obj) { r["eventVersion"] = "1.0" }), ReasonUnsupportedEventVersion},
		{"event version 3.0", rec(func(r obj) { r["eventVersion"] = "3.0" }), ReasonUnsupportedEventVersion},
		{"event version 2.x", rec(func(r obj) { r["eventVersion"] = "2.x" }), ReasonUnsupportedEventVersion},
		{"event version missing", rec(func(r obj) { delete(r, "eventVersion") }), ReasonUnsupportedEventVersion},
		{"no sequencer", rec(func(r obj) { delete(s3Object(r), "sequencer") }), ReasonNoSequencer},
		{"non-hex sequencer", rec(func(r obj) { s3Object(r)["sequencer"] = "0055XYZ" }), ReasonInvalidSequencer},
		{"over-long sequencer", rec(func(r obj) { s3Object(r)["sequencer"] = strings.Repeat("A", 33) }), ReasonInvalidSequencer},
		{"empty bucket", rec(func(r obj) { r["s3"].(obj)["bucket"] = obj{"name": ""} }), ReasonInvalidRecord},
		{"bucket too long", rec(func(r obj) { r["s3"].(obj)["bucket"] = obj{"name": strings.Repeat("b", 256)} }), ReasonInvalidRecord},
		{"unparseable event time", rec(func(r obj) { r["eventTime"] = "yesterday" }), ReasonInvalidRecord},
		{"event time out of range", rec(func(r obj) { r["eventTime"] = "0001-01-01T00:00:00+01:00" }), ReasonInvalidRecord},
		{"missing event time", rec(func(r obj) { delete(r, "eventTime") }), ""},
		{"negative size", rec(func(r obj) { s3Object(r)["size"] = -1 }), ReasonInvalidRecord},
		{"fractional size", rec(func(r obj) { s3Object(r)["size"] = 1.5 }), ReasonInvalidRecord},
		{"size of wrong type", rec(func(r obj) { s3Object(r)["size"] = true }), ReasonInvalidRecord},
		{"key of wrong type", rec(func(r obj) { s3Object(r)["key"] = 7 }), ReasonInvalidRecord},
		{"unknown eventSource without s3", obj{"eventSource": "aws:dynamodb", "dynamodb": obj{}}, ReasonInvalidRecord},
		{"SQS record without body", obj{"eventSource": "aws:sqs", "messageId": "m"}, ReasonInvalidRecord},
		{"SNS record without message", obj{"EventSource": "aws:sns", "Sns": obj{}}, ReasonInvalidRecord},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := mustParse(t, s3Body(t, tc.rec))
			if tc.wantSkip != "" {
				checkResult(t, res, nil, []string{tc.wantSkip})
				if d := res.Skipped[0].Detail; !strings.HasPrefix(d, "Records[0]: ") {
					t.Errorf("skip detail %q does not locate the record", d)
				}
				return
			}
			if len(res.Events) != 1 || len(res.Skipped) != 0 {
				t.Fatalf("want one event, got %+v", res)
			}
		})
	}
}

func TestParseSequencerNormalised(t *testing.T) {
	lower := mustParse(t, s3Body(t, s3Rec("ObjectCreated:Put", "k.jpg", "0055aed6dcd90281e5")))
	upper := mustParse(t, s3Body(t, s3Rec("ObjectCreated:Put", "k.jpg", "0055AED6DCD90281E5")))
	if len(lower.Events) != 1 || len(upper.Events) != 1 {
		t.Fatalf("want one event each, got %+v and %+v", lower, upper)
	}
	if got, want := lower.Events[0].Sequencer, pad("0055AED6DCD90281E5"); got != want {
		t.Errorf("sequencer = %q, want %q", got, want)
	}
	if lower.Events[0].ID != upper.Events[0].ID {
		t.Error("the same event with differently cased sequencers got different ids")
	}
}

func TestParseWrappers(t *testing.T) {
	put := s3Body(t, s3Rec("ObjectCreated:Put", "a+b.jpg", "0a"))
	wantPut := s3RecEvent("ObjectCreated:Put", "a b.jpg", "put", "0A")
	del := s3Body(t, s3Rec("ObjectRemoved:Delete", "a+b.jpg", "0b"))
	wantDel := s3RecEvent("ObjectRemoved:Delete", "a b.jpg", "delete", "0B")
	eb := eventBridgeBody(t, "Object Created", "a+b.jpg", "0c")
	wantEB := wantEvent{"aws.s3", "Object Created", "in", "a+b.jpg", "put", pad("0C"), "abc123", "", 10, "2024-05-14T09:21:07Z"}
	testEvent := []byte(`{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2024-05-14T09:00:00.000Z","Bucket":"in","RequestId":"r","HostId":"h"}`)
	tests := []struct {
		name      string
		body      []byte
		want      []wantEvent
		wantSkips []string
	}{
		{"SQS batch merges in order", sqsBody(t, put, testEvent, del), []wantEvent{wantPut, wantDel}, []string{ReasonTestEvent}},
		{"SQS of SNS envelope", sqsBody(t, snsEnvelopeBody(t, put)), []wantEvent{wantPut}, nil},
		{"SQS of EventBridge", sqsBody(t, eb), []wantEvent{wantEB}, nil},
		{"Lambda SNS of S3", snsLambdaBody(t, del), []wantEvent{wantDel}, nil},
		{"SNS envelope of test event", snsEnvelopeBody(t, testEvent), nil, []string{ReasonTestEvent}},
		{"SQS body that is not JSON", sqsBody(t, []byte("hello"), put), []wantEvent{wantPut}, []string{ReasonMalformedBody}},
		{"SQS body of no known shape", sqsBody(t, []byte(`{"hello":"world"}`)), nil, []string{ReasonMalformedBody}},
		{"SNS message that is not JSON", snsEnvelopeBody(t, []byte("{")), nil, []string{ReasonMalformedBody}},
		{"SNS subscription confirmation", []byte(`{"Type":"SubscriptionConfirmation","Message":"You have chosen to subscribe","Token":"t"}`),
			nil, []string{ReasonNotObjectEvent}},
		{"empty Records", []byte(`{"Records":[]}`), nil, []string{ReasonEmptyNotification}},
		{"SQS body with empty Records", sqsBody(t, []byte(`{"Records":[]}`)), nil, []string{ReasonEmptyNotification}},
		{"Records element not an object", []byte(`{"Records":[1,"x",null]}`), nil,
			[]string{ReasonInvalidRecord, ReasonInvalidRecord, ReasonInvalidRecord}},
		{"EventBridge from another source", []byte(`{"version":"0","detail-type":"EC2 Instance State-change Notification","source":"aws.ec2","detail":{}}`),
			nil, []string{ReasonNotObjectEvent}},
		{"EventBridge version 1", []byte(`{"version":"1","detail-type":"Object Created","source":"aws.s3","detail":{}}`),
			nil, []string{ReasonUnsupportedEventVersion}},
		{"EventBridge without detail", []byte(`{"version":"0","detail-type":"Object Created","source":"aws.s3"}`),
			nil, []string{ReasonInvalidRecord}},
		{"EventBridge detail of wrong type", []byte(`{"version":"0","detail-type":"Object Created","source":"aws.s3","detail":"x"}`),
			nil, []string{ReasonInvalidRecord}},
		{"EventBridge without sequencer", eventBridgeBody(t, "Object Created", "k", ""), nil, []string{ReasonNoSequencer}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := mustParse(t, tc.body)
			checkResult(t, res, tc.want, tc.wantSkips)
		})
	}
}

func TestParseMalformedBodyDetailLocatesMessage(t *testing.T) {
	body := sqsBody(t, s3Body(t, s3Rec("ObjectCreated:Put", "k", "0a")), snsEnvelopeBody(t, []byte("nope")))
	res := mustParse(t, body)
	if len(res.Skipped) != 1 {
		t.Fatalf("want one skip, got %+v", res.Skipped)
	}
	if d := res.Skipped[0].Detail; !strings.Contains(d, "Records[1].body.Message") || !strings.Contains(d, "not JSON") {
		t.Errorf("detail %q does not say where and why", d)
	}
}

func TestParseErrors(t *testing.T) {
	nest := func(body []byte, wrappers int) []byte {
		for i := range wrappers {
			if i%2 == 0 {
				body = sqsBody(t, body)
			} else {
				body = snsEnvelopeBody(t, body)
			}
		}
		return body
	}
	put := s3Body(t, s3Rec("ObjectCreated:Put", "k", "0a"))
	manyRecords := func(n int) []byte {
		return []byte(`{"Records":[` + strings.Repeat(`{},`, n-1) + `{}]}`)
	}
	half := manyRecords(MaxRecords/2 + 1)
	tests := []struct {
		name      string
		body      []byte
		wantLimit string // LimitDepth or LimitRecords for a *LimitError, else a *MalformedError
		wantText  string
	}{
		{"empty body", nil, "", "not JSON"},
		{"not JSON", []byte("Records"), "", "not JSON"},
		{"truncated JSON", []byte(`{"Records":[`), "", "not JSON"},
		{"trailing garbage", []byte(`{"Records":[]} x`), "", "not JSON"},
		{"array", []byte(`[{"Records":[]}]`), "", "not a JSON object"},
		{"string", []byte(`"hello"`), "", "not a JSON object"},
		{"number", []byte(`42`), "", "not a JSON object"},
		{"null", []byte(`null`), "", "not a JSON object"},
		{"object of no known shape", []byte(`{"hello":"world"}`), "", "no known notification shape"},
		{"Records with other case", []byte(`{"records":[]}`), "", "no known notification shape"},
		{"Records not an array", []byte(`{"Records":{}}`), "", "not a JSON array"},
		{"Records null", []byte(`{"Records":null}`), "", "not a JSON array"},
		{"Event other than s3:TestEvent", []byte(`{"Service":"Amazon S3","Event":"s3:Other"}`), "", "not s3:TestEvent"},
		{"SNS unknown type", []byte(`{"Type":"Weird","Message":"{}"}`), "", "unknown SNS message type"},
		{"SNS message not a string", []byte(`{"Type":"Notification","Message":{}}`), "", "not a string"},
		{"wrapped at the depth limit", nest(put, MaxDepth+1), LimitDepth, "nested more than"},
		{"too many records", manyRecords(MaxRecords + 1), LimitRecords, "more than 10000 records"},
		{"too many records across wrappers", sqsBody(t, half, half), LimitRecords, "more than 10000 records"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Parse(tc.body)
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", res)
			}
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("error %v does not wrap ErrMalformed", err)
			}
			if len(res.Events) != 0 || len(res.Skipped) != 0 {
				t.Errorf("error came with a non-empty result %+v", res)
			}
			var limitErr *LimitError
			var malErr *MalformedError
			switch {
			case tc.wantLimit != "":
				if !errors.As(err, &limitErr) || limitErr.Limit != tc.wantLimit {
					t.Errorf("error %v (%T) is not a *LimitError for %s", err, err, tc.wantLimit)
				}
			case !errors.As(err, &malErr):
				t.Errorf("error %v (%T) is not a *MalformedError", err, err)
			}
			if !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("error %q does not say %q", err, tc.wantText)
			}
		})
	}
}

func TestParseDepthLimitAllowsMaxDepth(t *testing.T) {
	body := s3Body(t, s3Rec("ObjectCreated:Put", "k", "0a"))
	for range MaxDepth {
		body = sqsBody(t, body)
	}
	res, err := Parse(body)
	if err != nil {
		t.Fatalf("Parse of %d wrappers: %v", MaxDepth, err)
	}
	if len(res.Events) != 1 {
		t.Fatalf("want one event, got %+v", res)
	}
}

func TestParseMaxRecordsAccepted(t *testing.T) {
	body := []byte(`{"Records":[` + strings.Repeat(`{},`, MaxRecords-1) + `{}]}`)
	res, err := Parse(body)
	if err != nil {
		t.Fatalf("Parse of %d records: %v", MaxRecords, err)
	}
	if len(res.Skipped) != MaxRecords {
		t.Fatalf("want %d skips, got %d", MaxRecords, len(res.Skipped))
	}
}
