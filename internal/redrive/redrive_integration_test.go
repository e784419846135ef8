package redrive_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shardline/shardline/internal/deadletter"
	"github.com/shardline/shardline/internal/envelope"
	"github.com/shardline/shardline/internal/grayscale"
	"github.com/shardline/shardline/internal/lab/emulators"
	"github.com/shardline/shardline/internal/lab/pipelinetest"
	"github.com/shardline/shardline/internal/lab/testkit"
	"github.com/shardline/shardline/internal/ledger"
	"github.com/shardline/shardline/internal/redrive"
	"github.com/shardline/shardline/processor"
)

// flaky fails every put of one key with a transient error while broken is set.
type flaky struct {
	*grayscale.Converter
	key    string
	broken *atomic.Bool
}

func (f flaky) Handle(ctx context.Context, ev processor.Event) error {
	if ev.Key == f.key && ev.Op == envelope.OpPut && f.broken.Load() {
		return errors.New("simulated outage")
	}
	return f.Converter.Handle(ctx, ev)
}

// TestRedriveAppliesFixedRecords dead-letters a record through retries_exhausted, fixes the cause,
// redrives it and sees the worker apply it; an undecodable letter is put back as it was.
func TestRedriveAppliesFixedRecords(t *testing.T) {
	p := pipelinetest.New(t, 1)
	ctx := context.Background()
	var broken atomic.Bool
	broken.Store(true)
	w := p.StartWorker(pipelinetest.WorkerOptions{MaxAttempts: 2, Wrap: func(h processor.Handler) processor.Handler {
		return flaky{Converter: h.(*grayscale.Converter), key: "a.jpg", broken: &broken}
	}})
	etagA := p.PutInput("a.jpg", pipelinetest.JPEG(t, 1))
	etagB := p.PutInput("b.jpg", pipelinetest.JPEG(t, 2))
	p.Send(p.Event("a.jpg", envelope.OpPut, pipelinetest.Seq(10), etagA), p.Event("b.jpg", envelope.OpPut, pipelinetest.Seq(10), etagB))
	w.WaitFinished(2)
	if w.Outcome(processor.OutcomeDeadLettered) != 1 || p.OutputOf("a.jpg").Exists {
		t.Fatalf("a.jpg was not dead-lettered: dead letters %v", w.Outcome(processor.OutcomeDeadLettered))
	}

	store := emulators.DeadLetters(t, p.Clients.DynamoDB, p.DeadLetters)
	// Sequence number 0 is never a real record's: moto numbers a shard's records 1, 2, …, so "1"
	// would be the same letter as a.jpg's and overwrite it.
	junk := deadletter.Letter{Shard: "shardId-000000000000", SequenceNumber: "0", PartitionKey: "junk", Data: []byte("not an envelope"), Reason: processor.ReasonBadEnvelope, At: time.Now()}
	if err := store.Put(ctx, junk); err != nil {
		t.Fatal(err)
	}
	led := emulators.Ledger(t, p.Clients.DynamoDB, p.Ledger)
	cfg := redrive.Config{Kinesis: p.Clients.Kinesis, Letters: store, Ledger: led, Stream: p.Stream}

	dry := cfg
	dry.DryRun, dry.Filter = true, redrive.Filter{Reason: processor.ReasonRetriesExhausted}
	res, err := redrive.Run(ctx, dry)
	if err != nil || res.Selected != 1 || res.Letters[0].Object != p.Input+"/a.jpg" || res.Deleted != 0 {
		t.Fatalf("dry run: %+v, %v", res, err)
	}
	if all, _ := store.List(ctx); len(all) != 2 {
		t.Fatalf("the dry run changed the letters: %d left", len(all))
	}

	broken.Store(false)
	byKey := cfg
	byKey.Filter = redrive.Filter{Key: "a.jpg"}
	var last redrive.Progress
	byKey.OnProgress = func(pr redrive.Progress) { last = pr }
	res, err = redrive.Run(ctx, byKey)
	if err != nil {
		t.Fatal(err)
	}
	if res.Selected != 1 || res.Deleted != 1 || !res.Letters[0].Done || res.Letters[0].Ledger != ledger.Reopened.String() || last.InStream != 1 {
		t.Fatalf("redrive by key: %+v (progress %+v)", res, last)
	}
	w.WaitFinished(3)
	p.WaitOutput("a.jpg", etagA, "the redriven record was not applied")
	if got := w.Outcome(processor.OutcomeApplied); got != 2 {
		t.Errorf("applied = %v, want 2 (b, then the redriven a)", got)
	}

	// The undecodable record goes back as it was; the worker dead-letters it again under its
	// new sequence number.
	res, err = redrive.Run(ctx, cfg)
	if err != nil || res.Selected != 1 || res.Deleted != 1 || res.Letters[0].Ledger != "" {
		t.Fatalf("redrive of the bad envelope: %+v, %v", res, err)
	}
	w.WaitFinished(4)
	testkit.Eventually(t, 30*time.Second, 100*time.Millisecond, func() bool {
		all, err := store.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return len(all) == 1 && all[0].ID() != junk.ID() && string(all[0].Data) == string(junk.Data) && all[0].PartitionKey == "junk"
	}, "the bad envelope did not come back as a new dead letter with the same bytes and key")
}

func TestFilter(t *testing.T) {
	l := deadletter.Letter{Object: "in/photos/a.jpg", Reason: "corrupt_image"}
	tests := []struct {
		name string
		f    redrive.Filter
		want bool
	}{
		{"empty", redrive.Filter{}, true},
		{"reason", redrive.Filter{Reason: "corrupt_image"}, true},
		{"other reason", redrive.Filter{Reason: "not_an_image"}, false},
		{"key", redrive.Filter{Key: "photos/a.jpg"}, true},
		{"bucket/key", redrive.Filter{Key: "in/photos/a.jpg"}, true},
		{"suffix only", redrive.Filter{Key: "a.jpg"}, false},
		{"key and reason", redrive.Filter{Key: "photos/a.jpg", Reason: "not_an_image"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.f.Match(l); got != tc.want {
				t.Fatalf("Match = %v", got)
			}
		})
	}
	if (redrive.Filter{Key: "a.jpg"}).Match(deadletter.Letter{}) {
		t.Fatal("a key filter matched a letter without object")
	}
}
