package ledger

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// AttrReopenedFrom holds, on an entry Reopen changed, the epoch the dead-lettered event was
// recorded in. The next commit replaces the whole item and drops it.
const AttrReopenedFrom = "reopenedFrom"

// ReopenResult says what Reopen found.
type ReopenResult int

// Results of Reopen.
const (
	// Reopened: the entry recorded the dead-lettered event and now lets it apply again (or
	// already did, from an earlier Reopen).
	Reopened ReopenResult = iota + 1
	// Pending: the entry does not record the event yet (no entry, or an older event): the
	// worker that dead-lettered it has not committed that outcome, or died before it did and the
	// record will be processed again. Redriving now would race that commit, which would then
	// make the redriven copy a duplicate and lose it: leave the letter for a later redrive.
	Pending
	// Superseded: the entry records another event (a newer one, or the event was applied);
	// nothing changed, and a redriven copy of the event will be dropped as stale or duplicate.
	Superseded
)

func (r ReopenResult) String() string {
	switch r {
	case Reopened:
		return "reopened"
	case Pending:
		return "pending"
	case Superseded:
		return "superseded"
	}
	return "unknown"
}

// Reopen prepares the redrive of a dead-lettered event. The processor records a dead-lettered
// event in the ledger like an applied one (so that older events of the object stay stale), which
// would make a redriven copy of it a duplicate. Reopen lowers the entry's epoch by one, keeping
// its sequencer and the dead_lettered outcome: by the ledger rule the same sequencer in a greater
// epoch applies, so the redriven event applies while every older event stays stale, and a repair
// sequencer derived from the entry (reconcile) still has room above it.
//
// It changes the entry only if it still records that very event: same sequencer and event ID,
// outcome dead_lettered; a newer event committed meanwhile always wins. It is repeatable: a second
// call finds the entry already reopened and changes nothing. sequencer is normalised.
func (l *Ledger) Reopen(ctx context.Context, object, eventID, sequencer string) (ReopenResult, error) {
	e, found, err := l.Get(ctx, object)
	if err != nil {
		return 0, fmt.Errorf("reopen %s: %w", object, err)
	}
	if res, write := reopenDecision(e, found, eventID, sequencer); !write {
		return res, nil
	}
	_, err = l.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:        aws.String(l.table),
		Key:              map[string]types.AttributeValue{AttrObject: s(object)},
		UpdateExpression: aws.String("SET #e = :below, #from = :e, #u = :now"),
		ConditionExpression: aws.String("#s = :seq AND #o = :dl AND #ev = :id AND #e = :e AND " +
			"attribute_not_exists(#from)"),
		ExpressionAttributeNames: map[string]string{
			"#s": AttrSequencer, "#o": AttrOutcome, "#ev": AttrEventID, "#e": AttrEpoch,
			"#from": AttrReopenedFrom, "#u": AttrUpdatedAt,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":seq": s(sequencer), ":dl": s(OutcomeDeadLettered), ":id": s(eventID),
			":e": n(e.Epoch), ":below": n(e.Epoch - 1),
			":now": stamp(time.Now()),
		},
	})
	if err == nil {
		return Reopened, nil
	}
	if !conditionFailed(err) {
		return 0, fmt.Errorf("reopen %s: %w", object, err)
	}
	// The entry changed between the read and the write (a commit, or another Reopen): decide
	// again on what it holds now.
	e, found, err = l.Get(ctx, object)
	if err != nil {
		return 0, fmt.Errorf("reopen %s: %w", object, err)
	}
	if res, write := reopenDecision(e, found, eventID, sequencer); !write {
		return res, nil
	}
	return 0, fmt.Errorf("reopen %s: the entry changed while reopening; try again", object)
}

// reopenDecision is what Reopen does with entry e for the dead-lettered event (eventID,
// sequencer): the result, and whether the entry's epoch must be lowered to get it. A pure
// function of the entry, table-tested.
func reopenDecision(e Entry, found bool, eventID, sequencer string) (res ReopenResult, write bool) {
	switch {
	case !found || e.Sequencer < sequencer:
		return Pending, false
	case e.Sequencer > sequencer || e.EventID != eventID || e.Outcome != OutcomeDeadLettered:
		return Superseded, false
	case e.Reopened:
		return Reopened, false
	}
	return Reopened, true
}
