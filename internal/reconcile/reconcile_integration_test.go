package reconcile_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/shardline/shardline/internal/envelope"
	"github.com/shardline/shardline/internal/lab/emulators"
	"github.com/shardline/shardline/internal/lab/pipelinetest"
	"github.com/shardline/shardline/internal/lab/testkit"
	"github.com/shardline/shardline/internal/ledger"
	"github.com/shardline/shardline/internal/reconcile"
	"github.com/shardline/shardline/internal/sequencer"
	"github.com/shardline/shardline/processor"
)

// TestReconcileFindsAndRepairs makes every kind of drift behind the pipeline's back, checks that
// reconcile reports it, repairs it through the stream, and that a later real event still applies.
func TestReconcileFindsAndRepairs(t *testing.T) {
	p := pipelinetest.New(t, 2)
	ctx := context.Background()
	w := p.StartWorker(pipelinetest.WorkerOptions{})
	etags := map[string]string{}
	for i, k := range []string{"ok.jpg", "stale.jpg", "lost-output.jpg", "orphan.jpg"} {
		etags[k] = p.PutInput(k, pipelinetest.JPEG(t, uint8(40*i)))
		p.Send(p.Event(k, envelope.OpPut, pipelinetest.Seq(10), etags[k]))
	}
	etags["notes.txt"] = p.PutInput("notes.txt", []byte("not an image"))
	p.Send(p.Event("notes.txt", envelope.OpPut, pipelinetest.Seq(10), etags["notes.txt"]))
	w.WaitFinished(5)

	// Drift without events: new content, a lost output, a lost delete, a lost create.
	etags["stale.jpg"] = p.PutInput("stale.jpg", pipelinetest.JPEG(t, 200))
	if _, err := p.Clients.S3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(p.Output), Key: aws.String("lost-output.jpg")}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Clients.S3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(p.Input), Key: aws.String("orphan.jpg")}); err != nil {
		t.Fatal(err)
	}
	etags["never.jpg"] = p.PutInput("never.jpg", pipelinetest.JPEG(t, 99))

	led := emulators.Ledger(t, p.Clients.DynamoDB, p.Ledger)
	cfg := reconcile.Config{S3: p.Clients.S3, Ledger: led, Writer: p.Writer, InputBucket: p.Input, OutputBucket: p.Output}
	res, err := reconcile.Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"stale.jpg": reconcile.Stale, "lost-output.jpg": reconcile.Missing, "orphan.jpg": reconcile.Orphaned,
		"never.jpg": reconcile.Missing, "notes.txt": reconcile.DeadLettered,
	}
	got := map[string]string{}
	for _, pr := range res.Problems {
		got[pr.Key] = pr.Kind
	}
	if len(got) != len(want) || res.InSync != 1 || res.Inputs != 5 || res.Outputs != 3 {
		t.Fatalf("report: %+v", res)
	}
	for k, kind := range want {
		if got[k] != kind {
			t.Errorf("%s: %q, want %q", k, got[k], kind)
		}
	}

	cfg.Fix = true
	res, err = reconcile.Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Enqueued != 4 {
		t.Fatalf("enqueued %d repairs, want 4: %+v", res.Enqueued, res.Problems)
	}
	for _, pr := range res.Problems {
		switch pr.Key {
		case "never.jpg":
			if pr.Sequencer != "00000000000000000000000000000001" {
				t.Errorf("repair of a key without ledger entry: sequencer %s", pr.Sequencer)
			}
		case "notes.txt":
			if pr.Fix != "" {
				t.Errorf("a dead-lettered input was repaired: %+v", pr)
			}
		default:
			if pr.Sequencer != "000000000000000A0000000000000001" {
				t.Errorf("%s: repair sequencer %s, want the ledger's + 1 in the repair zone", pr.Key, pr.Sequencer)
			}
		}
	}
	w.WaitFinished(9)
	if got := w.Outcome(processor.OutcomeApplied); got != 8 {
		t.Errorf("applied %v, want 8 (4 events, 4 repairs)", got)
	}
	cfg.Fix = false
	testkit.Eventually(t, 30*time.Second, 200*time.Millisecond, func() bool {
		res, err = reconcile.Run(ctx, cfg)
		return err == nil && len(res.Problems) == 1 && res.Problems[0].Kind == reconcile.DeadLettered
	}, "still out of sync after the repairs: %+v", res)
	if o := p.OutputOf("stale.jpg"); o.SourceETag != etags["stale.jpg"] {
		t.Fatalf("stale.jpg: %+v", o)
	}

	// A real event after the repair is newer than the repair and applies.
	etags["stale.jpg"] = p.PutInput("stale.jpg", pipelinetest.JPEG(t, 7))
	p.Send(p.Event("stale.jpg", envelope.OpPut, pipelinetest.Seq(11), etags["stale.jpg"]))
	w.WaitFinished(10)
	if got := w.Outcome(processor.OutcomeApplied); got != 9 {
		t.Fatalf("the real event after the repair was not applied (applied %v)", got)
	}
	if o := p.OutputOf("stale.jpg"); o.SourceETag != etags["stale.jpg"] {
		t.Fatalf("stale.jpg after the real event: %+v", o)
	}
}

// listHook runs before the first ListObjectsV2 call on one bucket.
type listHook struct {
	reconcile.S3
	bucket string
	once   sync.Once
	before func()
}

func (h *listHook) ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, opts ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	if aws.ToString(in.Bucket) == h.bucket {
		h.once.Do(h.before)
	}
	return h.S3.ListObjectsV2(ctx, in, opts...)
}

// TestReconcileFix_KeyUploadedBetweenListings_KeepsOutput is scenario 1 of issue 11: reconcile
// lists the inputs, then the outputs; a key uploaded (and converted by the workers) between the
// two listings looks orphaned, and --fix enqueues a repair delete that sorts after the real put.
// The handler used to delete the output unconditionally, and nothing restored it. A repair event
// is a wake-up: the handler finds the input present and keeps (or rebuilds) its output.
func TestReconcileFix_KeyUploadedBetweenListings_KeepsOutput(t *testing.T) {
	p := pipelinetest.New(t, 1)
	ctx := context.Background()
	w := p.StartWorker(pipelinetest.WorkerOptions{})
	led := emulators.Ledger(t, p.Clients.DynamoDB, p.Ledger)
	var etag string
	hooked := &listHook{S3: p.Clients.S3, bucket: p.Output, before: func() {
		// Between the two listings: the object is uploaded and the workers convert it.
		etag = p.PutInput("late.jpg", pipelinetest.JPEG(t, 77))
		p.Send(p.Event("late.jpg", envelope.OpPut, pipelinetest.Seq(10), etag))
		w.WaitFinished(1)
	}}
	res, err := reconcile.Run(ctx, reconcile.Config{S3: hooked, Ledger: led, Writer: p.Writer, InputBucket: p.Input, OutputBucket: p.Output, Fix: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Problems) != 1 || res.Problems[0].Kind != reconcile.Orphaned || res.Problems[0].Fix != envelope.OpDelete {
		t.Fatalf("problems = %+v, want late.jpg orphaned with a delete repair (the listing race)", res.Problems)
	}
	w.WaitFinished(2)
	p.WaitOutput("late.jpg", etag, "the repair delete removed the output of a live input: %+v", p.OutputOf("late.jpg"))
}

// TestSyntheticSequencer_AfterRedriveReopen is scenario 8 (second item) of issue 11: redrive
// reopens a dead-lettered entry, and a reconcile repair of the same object must still get a
// sequencer above it. Reopen used to move the entry's sequencer to the value just below the
// event's (…AFFFFFFFF), which left the repair zone full: ErrNoRoom.
func TestSyntheticSequencer_AfterRedriveReopen(t *testing.T) {
	p := pipelinetest.New(t, 1)
	ctx := context.Background()
	led := emulators.Ledger(t, p.Clients.DynamoDB, p.Ledger)
	ev := p.Event("dead.jpg", envelope.OpPut, pipelinetest.Seq(0xB00), "etag")
	if err := led.Commit(ctx, ledger.Entry{Object: ev.ObjectID(), Sequencer: ev.Sequencer, Op: ev.Op, Outcome: ledger.OutcomeDeadLettered, EventID: ev.ID}); err != nil {
		t.Fatal(err)
	}
	if got, err := led.Reopen(ctx, ev.ObjectID(), ev.ID, ev.Sequencer); err != nil || got != ledger.Reopened {
		t.Fatalf("Reopen = %v, %v", got, err)
	}
	e, found, err := led.Get(ctx, ev.ObjectID())
	if err != nil || !found {
		t.Fatalf("entry: %v, %v", found, err)
	}
	seq, err := sequencer.Synthetic(e.Sequencer)
	if err != nil {
		t.Fatalf("sequencer.Synthetic(%s) after Reopen: %v", e.Sequencer, err)
	}
	repair := ev
	repair.Sequencer = seq
	if d := ledger.Decide(e, true, 0, repair); d != ledger.Apply {
		t.Fatalf("the repair event %s against the reopened entry: %v, want apply", seq, d)
	}
}
