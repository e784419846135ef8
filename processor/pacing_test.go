package processor

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	kcl "github.com/vmware/vmware-go-kcl-v2/clientlibrary/interfaces"
)

// pacedRead records the waits a processor asks for before handing a shard back to the KCL.
type pacedRead struct {
	waits   []time.Duration
	stopped bool // the stop channel was closed when the wait was asked for
}

// pinPacing pins the harness factory's clock at now and records its pauses instead of waiting.
func pinPacing(h *harness, now time.Time) *pacedRead {
	r := &pacedRead{}
	h.factory.now = func() time.Time { return now }
	h.factory.pause = func(_ context.Context, stop <-chan struct{}, d time.Duration) {
		select {
		case <-stop:
			r.stopped = true
			return
		default:
		}
		r.waits = append(r.waits, d)
	}
	return r
}

// TestBusyCaughtUpShardIsReadAtMostEveryReadInterval: after a batch that was not full, with the
// shard caught up, the next read starts ReadInterval after this one started (so a hot object's
// events coalesce per read and the shard stays under Kinesis's read limit); a full batch, a
// shard behind the tip, or a worker shutting down reads again at once.
func TestBusyCaughtUpShardIsReadAtMostEveryReadInterval(t *testing.T) {
	now := time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name       string
		records    int
		maxRecords int
		behind     int64         // MillisBehindLatest
		readAgo    time.Duration // the read started this long before the batch was finished
		interval   time.Duration
		stopping   bool
		want       []time.Duration
	}{
		{name: "caught up, part batch: waits the rest of the interval", records: 3, maxRecords: 1000, behind: 0, readAgo: 40 * time.Millisecond, want: []time.Duration{210 * time.Millisecond}},
		{name: "just under the interval behind", records: 3, maxRecords: 1000, behind: 249, readAgo: 0, want: []time.Duration{250 * time.Millisecond}},
		{name: "the batch took longer than the interval", records: 3, maxRecords: 1000, readAgo: 300 * time.Millisecond},
		{name: "full batch: more are waiting", records: 4, maxRecords: 4, readAgo: 10 * time.Millisecond},
		{name: "behind the tip by the interval", records: 3, maxRecords: 1000, behind: 250, readAgo: 10 * time.Millisecond},
		{name: "pacing off", records: 3, maxRecords: 1000, readAgo: 10 * time.Millisecond, interval: -1},
		{name: "custom interval", records: 1, maxRecords: 1000, readAgo: 100 * time.Millisecond, interval: time.Second, want: []time.Duration{900 * time.Millisecond}},
		{name: "worker stopping", records: 3, maxRecords: 1000, readAgo: 10 * time.Millisecond, stopping: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, func(c *recordConfig) { c.MaxRecords = tc.maxRecords; c.ReadInterval = tc.interval })
			paced := pinPacing(h, now)
			if tc.stopping {
				h.factory.Stopping()
			}
			recs := make([]types.Record, tc.records)
			for i := range recs {
				recs[i] = h.put("k"+string(rune('a'+i)), "0A")
			}
			started := now.Add(-tc.readAgo)
			h.proc.ProcessRecords(&kcl.ProcessRecordsInput{Records: recs, Checkpointer: h.cp, MillisBehindLatest: tc.behind, CacheEntryTime: &started})
			if got := len(h.handler.Events()); got != tc.records {
				t.Fatalf("handler calls = %d, want %d (every record applied before the pause)", got, tc.records)
			}
			if len(paced.waits) != len(tc.want) {
				t.Fatalf("waits = %v, want %v", paced.waits, tc.want)
			}
			for i := range tc.want {
				if paced.waits[i] != tc.want[i] {
					t.Fatalf("waits = %v, want %v", paced.waits, tc.want)
				}
			}
			if tc.stopping && !paced.stopped && len(paced.waits) > 0 {
				t.Fatal("a stopping worker still paced its read")
			}
		})
	}
}

// TestPauseEndsWhenTheWorkerStops: the real pause returns as soon as the worker starts stopping,
// not when the interval is over (the lease is handed over without waiting for the next read).
func TestPauseEndsWhenTheWorkerStops(t *testing.T) {
	stop := make(chan struct{})
	done := async(func() { pause(context.Background(), stop, time.Hour) })
	close(stop)
	waitClosed(t, done, "pause did not end when stop was closed")
}
