package redrive_test

import (
	"context"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/shardline/shardline/internal/envelope"
	"github.com/shardline/shardline/internal/lab/emulators"
	"github.com/shardline/shardline/internal/ledger"
	"github.com/shardline/shardline/internal/redrive"
)

// acceptingKinesis accepts every record and keeps it: the records a redrive put back.
type acceptingKinesis struct {
	mu      sync.Mutex
	records [][]byte
}

func (k *acceptingKinesis) DescribeStreamSummary(context.Context, *kinesis.DescribeStreamSummaryInput, ...func(*kinesis.Options)) (*kinesis.DescribeStreamSummaryOutput, error) {
	return &kinesis.DescribeStreamSummaryOutput{StreamDescriptionSummary: &types.StreamDescriptionSummary{StreamStatus: types.StreamStatusActive}}, nil
}

func (k *acceptingKinesis) PutRecords(_ context.Context, in *kinesis.PutRecordsInput, _ ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := &kinesis.PutRecordsOutput{}
	for _, r := range in.Records {
		k.records = append(k.records, r.Data)
		out.Records = append(out.Records, types.PutRecordsResultEntry{})
	}
	return out, nil
}

// TestRedriveDuringDeadLetteringKeepsTheRecord is scenario 5 of issue 11. The processor stores a
// dead letter first and records the dead_lettered outcome in the ledger afterwards (after removing
// the output, with retries). A redrive inside that window used to find the older entry, put the
// record back and delete the letter; the worker's commit then made the redriven copy a duplicate
// of the dead-lettered event: no letter left, the record never applied. Now the letter waits.
func TestRedriveDuringDeadLetteringKeepsTheRecord(t *testing.T) {
	clients := emulators.Require(t)
	ctx := context.Background()
	led, store := tables(t, clients)
	older, failing := putEvent(t, "0A"), putEvent(t, "0B")
	commit := func(e envelope.Event, outcome string) {
		t.Helper()
		if err := led.Commit(ctx, ledger.Entry{Object: e.ObjectID(), Sequencer: e.Sequencer, Op: e.Op, Outcome: outcome, EventID: e.ID}); err != nil {
			t.Fatal(err)
		}
	}
	commit(older, ledger.OutcomeApplied)

	// The worker has stored the letter of the failing event, and not yet committed its outcome.
	letter := letterOf(t, failing)
	if err := store.Put(ctx, letter); err != nil {
		t.Fatal(err)
	}
	k := &acceptingKinesis{}
	res, err := redrive.Run(ctx, redrive.Config{Kinesis: k, Letters: store, Ledger: led, Stream: "s"})
	if err != nil {
		t.Fatal(err)
	}
	// The worker's commit lands now.
	commit(failing, ledger.OutcomeDeadLettered)

	letters, err := store.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	entry, found, err := led.Get(ctx, failing.ObjectID())
	if err != nil {
		t.Fatal(err)
	}
	redrivenApplies := len(k.records) == 1 && ledger.Decide(entry, found, 0, failing) == ledger.Apply
	if len(letters) == 0 && !redrivenApplies {
		t.Fatalf("the record is lost: no dead letter left, and the redriven copy would be dropped as %v (redrive result %+v)",
			ledger.Decide(entry, found, 0, failing), res)
	}
	if res.Pending != 1 || len(k.records) != 0 || len(letters) != 1 {
		t.Fatalf("redrive during the dead-lettering: %+v, %d records put back, %d letters left; want the letter left pending", res, len(k.records), len(letters))
	}

	// Once the outcome is committed, the next redrive reopens the entry and the copy applies.
	res, err = redrive.Run(ctx, redrive.Config{Kinesis: k, Letters: store, Ledger: led, Stream: "s"})
	if err != nil || res.Deleted != 1 || len(k.records) != 1 {
		t.Fatalf("second redrive: %+v, %v (%d records)", res, err, len(k.records))
	}
	entry, found, _ = led.Get(ctx, failing.ObjectID())
	if d := ledger.Decide(entry, found, 0, failing); d != ledger.Apply {
		t.Fatalf("after the second redrive the copy would be %v, want apply", d)
	}
}
