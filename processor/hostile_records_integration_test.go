package processor_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"fmt"
	"testing"
	"time"

	"github.com/shardline/shardline/internal/lab/testkit"
	"github.com/shardline/shardline/processor"
)

// kplMagic starts every record the Kinesis Producer Library aggregates.
var kplMagic = []byte{0xf3, 0x89, 0x9a, 0xc2}

// kplRecord frames payload as a KPL aggregated record: magic, payload, MD5 of payload. The KCL
// de-aggregates every record framed like this, whoever wrote it.
func kplRecord(payload []byte) []byte {
	sum := md5.Sum(payload)
	return append(append(bytes.Clone(kplMagic), payload...), sum[:]...)
}

// TestHostileRecordsKeepShardMoving puts records on one shard that the forwarder never writes and
// that once stopped or crashed a shard, between good events: KPL-framed records (one whose
// protobuf does not parse, which made the KCL drop its whole GetRecords batch; one whose
// partition key index is out of range, which made the KCL panic), a plain record starting with
// the KPL magic, and a 1 MiB record (a dead letter keeping all of it exceeds DynamoDB's 400 KB
// item limit, and dead letters are retried until stored). Every record must end in exactly one
// outcome, the bad ones dead-lettered as bad_envelope with their data, and the good events after
// them applied.
func TestHostileRecordsKeepShardMoving(t *testing.T) {
	s := newHostileStack(t, 1)
	seq := func(n int) string { return fmt.Sprintf("%016X", n) }
	good := func(key string) string {
		etag := s.putObject(key, testJPEG(t, 60))
		s.notify(s.record("ObjectCreated:Put", key, seq(10)))
		return etag
	}

	huge := bytes.Repeat([]byte("x"), 1<<20-len("raw/huge"))
	bad := map[string][]byte{
		// AggregatedRecord.records[0] = {partition_key_index: 5, data: "x"}, with no partition key table.
		"raw/kpl-index":   kplRecord([]byte{0x1a, 0x05, 0x08, 0x05, 0x1a, 0x01, 'x'}),
		"raw/kpl-garbage": kplRecord([]byte{0xff, 0xff, 0xff, 0xff, 0x0f}),
		"raw/kpl-magic":   append(bytes.Clone(kplMagic), []byte("but no valid digest")...),
		"raw/huge":        huge,
	}
	etags := map[string]string{"good/1.jpg": good("good/1.jpg")}
	s.putRaw("raw/kpl-garbage", bad["raw/kpl-garbage"])
	etags["good/2.jpg"] = good("good/2.jpg")
	s.putRaw("raw/huge", bad["raw/huge"])
	s.putRaw("raw/kpl-magic", bad["raw/kpl-magic"])
	s.putRaw("raw/kpl-index", bad["raw/kpl-index"])
	etags["good/3.jpg"] = good("good/3.jpg")

	s.start()
	testkit.Eventually(t, 60*time.Second, 100*time.Millisecond, func() bool {
		sum := 0.0
		for _, n := range outcomes(t, s.workerReg) {
			sum += n
		}
		return sum >= float64(s.streamRecords)
	}, "worker accounted for fewer than %d records", s.streamRecords)
	if err := s.stop(); err != nil {
		t.Fatalf("worker shutdown: %v", err)
	}

	got := outcomes(t, s.workerReg)
	want := map[string]float64{processor.OutcomeApplied: 3, processor.OutcomeDeadLettered: float64(len(bad))}
	for label, n := range got {
		if n != want[label] {
			t.Errorf("records %s = %v, want %v", label, n, want[label])
		}
	}
	for key, etag := range etags {
		if got := s.outputETag(key); got != etag {
			t.Errorf("output %q: source-etag %q, want %q", key, got, etag)
		}
	}
	letters, err := s.deadLetters.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(letters) != len(bad) {
		t.Errorf("%d dead letters, want %d", len(letters), len(bad))
	}
	for _, l := range letters {
		data, ok := bad[l.PartitionKey]
		if !ok || l.Reason != processor.ReasonBadEnvelope {
			t.Errorf("unexpected dead letter %s (%s)", l.PartitionKey, l.Reason)
			continue
		}
		if l.DataSize != len(data) || !bytes.HasPrefix(data, l.Data) || (len(l.Data) < len(data)) != l.DataTruncated {
			t.Errorf("dead letter %s keeps %d of %d bytes (size %d, truncated %v)", l.PartitionKey, len(l.Data), len(data), l.DataSize, l.DataTruncated)
		}
		if len(data) <= 256<<10 && !bytes.Equal(l.Data, data) {
			t.Errorf("dead letter %s does not keep the record as read", l.PartitionKey)
		}
	}
}
