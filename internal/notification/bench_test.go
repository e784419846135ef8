package notification

import (
	"strings"
	"testing"
)

func BenchmarkParse(b *testing.B) {
	rec := string(readFixture(b, "s3_put.json"))
	rec = rec[strings.Index(rec, "[")+1 : strings.LastIndex(rec, "]")]
	bodies := []struct {
		name string
		body []byte
	}{
		{"s3_put", readFixture(b, "s3_put.json")},
		{"minio_put", readFixture(b, "minio_webhook_put.json")},
		{"eventbridge", readFixture(b, "eventbridge_object_created.json")},
		{"sqs_sns_s3", readFixture(b, "sqs_sns_s3.json")},
		{"s3_1000_records", []byte(`{"Records":[` + strings.Repeat(rec+",", 999) + rec + `]}`)},
	}
	for _, bb := range bodies {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bb.body)))
			for b.Loop() {
				res, err := Parse(bb.body)
				if err != nil || len(res.Events) == 0 {
					b.Fatalf("Parse: %v, %+v", err, res)
				}
			}
		})
	}
}
