package ledger

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// AttrReopenedFrom holds, on an entry Reopen changed, the sequencer of the dead-lettered event
// that may apply again. The next commit replaces the whole item and drops it.
const AttrReopenedFrom = "reopenedFrom"

// ReopenResult says what Reopen found.
type ReopenResult int

// Results of Reopen.
const (
	// Reopened: the entry recorded the dead-lettered event and now lets it apply again (or
	// already did, from an earlier Reopen).
	Reopened ReopenResult = iota + 1
	// NoEntry: the object has no entry; the event applies anyway.
	NoEntry
	// Superseded: the entry records another event (a newer one, or the event was applied);
	// nothing changed, and a redriven copy of the event will be dropped as stale or duplicate.
	Superseded
)

func (r ReopenResult) String() string {
	switch r {
	case Reopened:
		return "reopened"
	case NoEntry:
		return "no_entry"
	case Superseded:
		return "superseded"
	}
	return "unknown"
}

// Reopen prepares the redrive of a dead-lettered event. The processor records a dead-lettered
// event in the ledger like an applied one (so that older events of the object stay stale), which
// would make a redriven copy of it a duplicate. Reopen moves the entry's sequencer to the value
// just below the event's, keeping the epoch and the dead_lettered outcome (so repairs still treat
// the output as absent), so that the redriven event applies while every older event stays stale.
//
// It changes the entry only if it still records that very event: same sequencer and event ID,
// outcome dead_lettered; a newer event committed meanwhile always wins. sequencer is normalised.
func (l *Ledger) Reopen(ctx context.Context, object, eventID, sequencer string) (ReopenResult, error) {
	below, err := predecessor(sequencer)
	if err != nil {
		return 0, fmt.Errorf("reopen %s: %w", object, err)
	}
	_, err = l.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:        aws.String(l.table),
		Key:              map[string]types.AttributeValue{AttrObject: s(object)},
		UpdateExpression: aws.String("SET #s = :below, #from = :seq, #u = :now"),
		ConditionExpression: aws.String("(#s = :seq AND #o = :dl AND #ev = :id) OR " +
			"(#s = :below AND #from = :seq)"),
		ExpressionAttributeNames: map[string]string{
			"#s": AttrSequencer, "#o": AttrOutcome, "#ev": AttrEventID, "#from": AttrReopenedFrom, "#u": AttrUpdatedAt,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":seq": s(sequencer), ":below": s(below), ":dl": s(OutcomeDeadLettered), ":id": s(eventID),
			":now": s(time.Now().UTC().Format(time.RFC3339Nano)),
		},
	})
	if err == nil {
		return Reopened, nil
	}
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		return 0, fmt.Errorf("reopen %s: %w", object, err)
	}
	_, found, err := l.Get(ctx, object)
	switch {
	case err != nil:
		return 0, err
	case !found:
		return NoEntry, nil
	}
	return Superseded, nil
}

// predecessor returns the normalised sequencer right below seq (seq minus one, as a hex number of
// the same width). Real sequencers are right-padded with zeros, so nothing real falls between.
func predecessor(seq string) (string, error) {
	b := []byte(strings.ToUpper(seq))
	for _, c := range b {
		if !(c >= '0' && c <= '9') && !(c >= 'A' && c <= 'F') {
			return "", fmt.Errorf("sequencer %q is not hex", seq)
		}
	}
	for i := len(b) - 1; i >= 0; i-- {
		switch b[i] {
		case '0':
			b[i] = 'F'
			continue
		case 'A':
			b[i] = '9'
		default:
			b[i]--
		}
		return string(b), nil
	}
	return "", fmt.Errorf("sequencer %q is zero: nothing is below it", seq)
}
