package ledger

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// retriedAfterLostResponse stores every PutItem and then answers it as a retry of a write whose
// first response was lost would be answered: ConditionalCheckFailed (the condition now meets
// the item the first attempt wrote).
type retriedAfterLostResponse struct {
	mu   sync.Mutex
	item map[string]types.AttributeValue
}

func (f *retriedAfterLostResponse) GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return &dynamodb.GetItemOutput{Item: f.item}, nil
}

func (f *retriedAfterLostResponse) PutItem(_ context.Context, in *dynamodb.PutItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.item == nil {
		f.item = in.Item
	}
	return nil, &types.ConditionalCheckFailedException{Message: new(string)}
}

func (f *retriedAfterLostResponse) UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	return nil, errors.New("not used")
}

// TestCommitLostResponse_OwnWriteIsNotAConflict: a commit that landed but whose response was lost
// is retried by the SDK, and the retry fails its condition against our own item. That is our
// commit, not a conflict (seen on moto, where a 200 whose body could not be read was retried).
func TestCommitLostResponse_OwnWriteIsNotAConflict(t *testing.T) {
	client := &retriedAfterLostResponse{}
	l, err := New(client, "t")
	if err != nil {
		t.Fatal(err)
	}
	e := Entry{Object: "in/a.jpg", Sequencer: "0B", Epoch: 1, Op: "put", Outcome: OutcomeApplied, EventID: "ev", Worker: "w1"}
	if err := l.Commit(context.Background(), e); err != nil {
		t.Fatalf("Commit = %v, want nil: the item is our own write", err)
	}
	// Another worker's commit of the same event meets our item: a real conflict.
	other := e
	other.Worker = "w2"
	if err := l.Commit(context.Background(), other); !errors.Is(err, ErrConflict) {
		t.Fatalf("Commit by another worker = %v, want ErrConflict", err)
	}
}
