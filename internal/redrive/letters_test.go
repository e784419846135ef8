package redrive_test

import (
	"testing"
	"time"

	"github.com/shardline/shardline/internal/awsclients"
	"github.com/shardline/shardline/internal/deadletter"
	"github.com/shardline/shardline/internal/envelope"
	"github.com/shardline/shardline/internal/lab/emulators"
	"github.com/shardline/shardline/internal/ledger"
)

// tables creates a ledger table and a dead-letter table for the test and opens them.
func tables(t *testing.T, clients awsclients.Clients) (*ledger.Ledger, *deadletter.Store) {
	t.Helper()
	db := clients.DynamoDB
	return emulators.Ledger(t, db, emulators.LedgerTable(t, db)), emulators.DeadLetters(t, db, emulators.DeadLetterTable(t, db))
}

// putEvent returns the put event of in/a.jpg with sequencer seq.
func putEvent(t *testing.T, seq string) envelope.Event {
	t.Helper()
	ev, err := envelope.New("aws:s3", "ObjectCreated:Put", "in", "a.jpg", envelope.OpPut, seq, "etag-"+seq, "", 1, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// letterOf returns the dead letter a worker stores for ev's record when its retries ran out.
func letterOf(t *testing.T, ev envelope.Event) deadletter.Letter {
	t.Helper()
	data, err := envelope.Encode(ev)
	if err != nil {
		t.Fatal(err)
	}
	return deadletter.Letter{Shard: "shardId-000000000000", SequenceNumber: "49590", PartitionKey: ev.PartitionKey(),
		Data: data, Reason: "retries_exhausted", Object: ev.ObjectID(), EventID: ev.ID, At: time.Now()}
}
