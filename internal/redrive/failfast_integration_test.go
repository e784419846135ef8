package redrive_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/shardline/shardline/internal/deadletter"
	"github.com/shardline/shardline/internal/envelope"
	"github.com/shardline/shardline/internal/lab/emulators"
	"github.com/shardline/shardline/internal/ledger"
	"github.com/shardline/shardline/internal/redrive"
	"github.com/shardline/shardline/internal/setup"
)

// TestRedriveFailsFastOnMissingStream is finding 2 of issue 13: redrive against a stream that does
// not exist reopened the ledger entries of its letters and then retried the ResourceNotFound
// answer of PutRecords until its deadline. It must fail at once and leave the ledger and the
// letters as they were.
func TestRedriveFailsFastOnMissingStream(t *testing.T) {
	clients := emulators.Require(t)
	ctx := context.Background()
	ledgerT, deadT := emulators.Name(t, "ledger"), emulators.Name(t, "dead")
	if err := setup.Run(ctx, setup.Clients{DynamoDB: clients.DynamoDB}, setup.Config{LedgerTable: ledgerT, DeadLetterTable: deadT}, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	led, err := ledger.New(clients.DynamoDB, ledgerT)
	if err != nil {
		t.Fatal(err)
	}
	store, err := deadletter.New(clients.DynamoDB, deadT)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := envelope.New("aws:s3", "ObjectCreated:Put", "in", "a.jpg", envelope.OpPut, "0B", "etag", "", 1, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if err := led.Commit(ctx, ledger.Entry{Object: ev.ObjectID(), Sequencer: ev.Sequencer, Op: ev.Op, Outcome: ledger.OutcomeDeadLettered, EventID: ev.ID}); err != nil {
		t.Fatal(err)
	}
	before, _, err := led.Get(ctx, ev.ObjectID())
	if err != nil {
		t.Fatal(err)
	}
	data, err := envelope.Encode(ev)
	if err != nil {
		t.Fatal(err)
	}
	letter := deadletter.Letter{Shard: "shardId-000000000000", SequenceNumber: "49590", PartitionKey: ev.PartitionKey(),
		Data: data, Reason: "retries_exhausted", Object: ev.ObjectID(), EventID: ev.ID, At: time.Now()}
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
	deadT := emulators.Name(t, "dead")
	if err := setup.Run(ctx, setup.Clients{DynamoDB: clients.DynamoDB}, setup.Config{DeadLetterTable: deadT}, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	led, err := ledger.New(clients.DynamoDB, emulators.Name(t, "noledger"))
	if err != nil {
		t.Fatal(err)
	}
	store, err := deadletter.New(clients.DynamoDB, deadT)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := envelope.New("aws:s3", "ObjectCreated:Put", "in", "a.jpg", envelope.OpPut, "0B", "etag", "", 1, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	data, err := envelope.Encode(ev)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Put(ctx, deadletter.Letter{Shard: "shardId-000000000000", SequenceNumber: "49590", PartitionKey: ev.PartitionKey(),
		Data: data, Reason: "retries_exhausted", Object: ev.ObjectID(), EventID: ev.ID, At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	k := &acceptingKinesis{}
	start := time.Now()
	_, err = redrive.Run(ctx, redrive.Config{Kinesis: k, Letters: store, Ledger: led, Stream: "s", Deadline: 30 * time.Second})
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
