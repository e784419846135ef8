package ledger

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// ErrChanged is returned by Reset when the entry no longer holds what the caller read: a worker
// committed (or a redrive reopened it) in between. Nothing was changed.
var ErrChanged = errors.New("ledger entry changed since it was read")

// DeleteDynamoDB is what Reset needs in addition to DynamoDB.
type DeleteDynamoDB interface {
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
}

// Reset forgets what the ledger knows about one object: it deletes the object's entry, only if
// the entry still holds read (same sequencer and epoch, and the same update time when read has
// one). Every change of an entry (a commit, a reopen) changes its sequencer or epoch and its
// update time, so a change made after read was taken is never overwritten: Reset then returns
// ErrChanged (wrapped) and changes nothing.
//
// With no entry, every event of the object applies again, the next one included: that repairs a
// key frozen by a forged far-future sequencer (nothing real is greater). The caller enqueues an
// event that converges the output (see package ledgerreset).
//
// If the entry is already gone when the condition is checked (another reset, or this very
// delete whose response was lost and whose SDK retry found nothing), Reset succeeds: the object
// has no entry, which is what was asked.
func (l *Ledger) Reset(ctx context.Context, read Entry) error {
	dc, ok := l.client.(DeleteDynamoDB)
	if !ok {
		return errors.New("ledger: client has no DeleteItem")
	}
	cond := "#s = :s AND #e = :e"
	names := map[string]string{"#o": AttrObject, "#s": AttrSequencer, "#e": AttrEpoch}
	values := map[string]types.AttributeValue{":s": s(read.Sequencer), ":e": n(read.Epoch)}
	if !read.UpdatedAt.IsZero() {
		cond += " AND #u = :u"
		names["#u"] = AttrUpdatedAt
		values[":u"] = stamp(read.UpdatedAt)
	}
	_, err := dc.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 aws.String(l.table),
		Key:                       map[string]types.AttributeValue{AttrObject: s(read.Object)},
		ConditionExpression:       aws.String("attribute_exists(#o) AND " + cond),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	})
	if err == nil {
		return nil
	}
	if !conditionFailed(err) {
		return fmt.Errorf("ledger reset %s: %w", read.Object, err)
	}
	_, found, getErr := l.Get(ctx, read.Object)
	if getErr == nil && !found {
		return nil
	}
	return fmt.Errorf("ledger reset %s (read at %s, epoch %d): %w", read.Object, read.Sequencer, read.Epoch, ErrChanged)
}
