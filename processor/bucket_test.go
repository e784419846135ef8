package processor

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/shardline/shardline/internal/bucket"
	"github.com/shardline/shardline/internal/envelope"
)

// eventIn builds a put event of key in an arbitrary bucket (envelope validation accepts any
// non-empty bucket up to 255 bytes, ARNs included: refusing them is the processor's job).
func eventIn(t *testing.T, bkt, key, rawSeq string) envelope.Event {
	t.Helper()
	ev, err := envelope.New("aws:s3", "ObjectCreated:Put", bkt, key, envelope.OpPut, rawSeq, "etag-1", "", 42,
		time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatalf("envelope.New(%s/%s): %v", bkt, key, err)
	}
	return ev
}

// touchedBuckets records every bucket the handler was asked to handle or verify.
type touchedBuckets struct {
	mu      sync.Mutex
	buckets []string
}

func (b *touchedBuckets) add(ev envelope.Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buckets = append(b.buckets, ev.Bucket)
}

func (b *touchedBuckets) get() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.buckets...)
}

// TestEventOfARefusedBucketIsDeadLetteredWithoutReadingIt: an envelope naming a bucket outside
// the allow-list, or anything that is not a valid bucket name (an ARN the SDK would treat as an
// access point), is dead-lettered with its reason; the handler is neither called nor asked to
// verify for it (so nothing reads that bucket), and the shard goes on with the next record.
func TestEventOfARefusedBucketIsDeadLetteredWithoutReadingIt(t *testing.T) {
	tests := []struct {
		name       string
		allow      string // --input-buckets
		bucket     string
		wantReason string // "" = applied
	}{
		{"foreign bucket", "inbox", "someone-elses-bucket", ReasonForeignBucket},
		{"allowed bucket", "inbox,photos", "photos", ""},
		{"access point ARN", "inbox", "arn:aws:s3:us-east-1:123456789012:accesspoint/ap", ReasonInvalidBucket},
		{"access point ARN without an allow-list", "", "arn:aws:s3:us-east-1:123456789012:accesspoint/ap", ReasonInvalidBucket},
		{"access point alias without an allow-list", "", "ap-123456789012-abcdefghijklmnop-s3alias", ReasonInvalidBucket},
		{"upper case without an allow-list", "", "Inbox", ReasonInvalidBucket},
		{"path in the bucket field", "", "inbox/../other", ReasonInvalidBucket},
		{"any valid bucket without an allow-list", "", "someone-elses-bucket", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var touched touchedBuckets
			h := newHarness(t, func(c *recordConfig) {
				if tc.allow != "" {
					c.InputBuckets = bucket.MustParseAllowList(tc.allow)
				}
			})
			h.handler.fn = func(_ context.Context, ev envelope.Event, _ int) error { touched.add(ev); return nil }
			h.handler.verify = func(ctx context.Context, ev envelope.Event) (bool, error) { touched.add(ev); return true, ctx.Err() }

			refused := h.record(eventIn(t, tc.bucket, "a.jpg", "10"))
			next := h.put("next.jpg", "10") // testBucket: allowed in every case
			h.process(refused, next)

			for _, b := range touched.get() {
				if b == tc.bucket && tc.wantReason != "" {
					t.Fatalf("the handler was called for the refused bucket %q", b)
				}
			}
			assertStrings(t, "checkpoints", h.cp.Calls(), []string{seqNo(2)})
			if c, _ := h.ledger.entry(testBucket + "/next.jpg"); c.Outcome != "applied" {
				t.Errorf("the next record was not applied: %+v", c)
			}
			letters := h.dl.Letters()
			if tc.wantReason == "" {
				if len(letters) != 0 {
					t.Fatalf("dead letters %+v, want none", letters)
				}
				assertMetric(t, h.reg, mRecords, outcomes(2, 0, 0, 0))
				return
			}
			if len(letters) != 1 || letters[0].Reason != tc.wantReason || letters[0].Object != tc.bucket+"/a.jpg" || letters[0].Attempts != 0 {
				t.Fatalf("dead letters %+v, want one %s letter of %s/a.jpg with no attempt", letters, tc.wantReason, tc.bucket)
			}
			assertMetric(t, h.reg, mRecords, outcomes(1, 0, 0, 1))
			assertMetric(t, h.reg, mDeadLetters, map[string]float64{`reason="` + tc.wantReason + `"`: 1})
			// The refusal is recorded in the ledger like any dead letter, so that a redrive
			// (after the bucket joins the allow-list) can reopen it.
			if e, ok := h.ledger.entry(tc.bucket + "/a.jpg"); !ok || e.Outcome != "dead_lettered" {
				t.Errorf("ledger entry of the refused event: %+v, %v", e, ok)
			}
		})
	}
}
