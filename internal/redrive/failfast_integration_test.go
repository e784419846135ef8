package redrive_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/shardline/shardline/internal/lab/emulators"
	"github.com/shardline/shardline/internal/ledger"
	"github.com/shardline/shardline/internal/redrive"
)

// TestRedriveFailsFastOnMissingStream is finding 2 of issue 13: redrive against a stream that does
// not exist reopened the ledger entries of its letters and then retried the ResourceNotFound
// answer of PutRecords until its deadline. It must fail at once and leave the ledger and the
// letters as they were.
func TestRedriveFailsFastOnMissingStream(t *testing.T) {
	clients := emulators.Require(t)
	ctx := context.Background()
	led, store := tables(t, clients)
	ev := putEvent(t, "0B")
	if err := led.Commit(ctx, ledger.Entry{Object: ev.ObjectID(), Sequencer: ev.Sequencer, Op: ev.Op, Outcome: ledger.OutcomeDeadLettered, EventID: ev.ID}); err != nil {
		t.Fatal(err)
	}
	before, _, err := led.Get(ctx, ev.ObjectID())
	if err != nil {
		t.Fatal(err)
	}
	letter := letterOf(t, ev)
	if err := store.Put(ctx, letter); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	res, err := redrive.Run(ctx, redrive.Config{Kinesis: clients.Kinesis, Letters: store, Ledger: led,
		Stream: emulators.Name(t, "missing"), Deadline: 30 * time.Second})
	took := time.Since(start)
	var notFound *types.ResourceNotFoundException
	if !errors.As(err, &notFound) {
		t.Errorf("err = %v, want the stream's ResourceNotFoundException", err)
	}
	if took > 5*time.Second {
		t.Errorf("redrive took %s to fail, want under 5s", took)
	}
	after, _, gerr := led.Get(ctx, ev.ObjectID())
	if gerr != nil {
		t.Fatal(gerr)
	}
	if after.Reopened || after.Epoch != before.Epoch {
		t.Errorf("the ledger entry was reopened (epoch %d → %d, reopened %v); redrive must fail before touching it", before.Epoch, after.Epoch, after.Reopened)
	}
	if letters, _ := store.List(ctx); len(letters) != 1 {
		t.Errorf("%d letters left, want 1", len(letters))
	}
	if res.Deleted != 0 || res.InStream != 0 {
		t.Errorf("result %+v, want nothing redriven", res)
	}
}

// TestRedriveFailsFastOnMissingLedgerTable: a missing ledger table stops redrive at its first
// read, before anything is put on the stream or any letter removed.
func TestRedriveFailsFastOnMissingLedgerTable(t *testing.T) {
	clients := emulators.Require(t)
	ctx := context.Background()
	db := clients.DynamoDB
	led := emulators.Ledger(t, db, emulators.Name(t, "noledger"))
	store := emulators.DeadLetters(t, db, emulators.DeadLetterTable(t, db))
	if err := store.Put(ctx, letterOf(t, putEvent(t, "0B"))); err != nil {
		t.Fatal(err)
	}
	k := &acceptingKinesis{}
	start := time.Now()
	_, err := redrive.Run(ctx, redrive.Config{Kinesis: k, Letters: store, Ledger: led, Stream: "s", Deadline: 30 * time.Second})
	if err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("err = %v after %s, want an error within 5s", err, time.Since(start))
	}
	if len(k.records) != 0 {
		t.Errorf("%d records put on the stream", len(k.records))
	}
	if letters, _ := store.List(ctx); len(letters) != 1 {
		t.Errorf("%d letters left, want 1", len(letters))
	}
}
