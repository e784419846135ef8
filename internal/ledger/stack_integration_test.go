package ledger_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/shardline/shardline/internal/lab/emulators"
	"github.com/shardline/shardline/internal/ledger"
	"github.com/shardline/shardline/internal/sequencer"
)

// stack is the fixture the ledger's integration tests share: a fresh ledger table on the local
// stack and a Ledger on it, with helpers that fail the test on an unexpected error.
type stack struct {
	t     *testing.T
	ctx   context.Context
	db    *dynamodb.Client
	table string
	l     *ledger.Ledger
}

// newStack creates the table (dropped by t.Cleanup) and the Ledger; it skips t without the stack.
func newStack(t *testing.T) *stack {
	t.Helper()
	clients := emulators.Require(t)
	table := emulators.LedgerTable(t, clients.DynamoDB)
	return &stack{t: t, ctx: context.Background(), db: clients.DynamoDB, table: table,
		l: emulators.Ledger(t, clients.DynamoDB, table)}
}

// get reads object's entry.
func (s *stack) get(object string) (ledger.Entry, bool) {
	s.t.Helper()
	e, found, err := s.l.Get(s.ctx, object)
	if err != nil {
		s.t.Fatal(err)
	}
	return e, found
}

// mustNormalize is sequencer.Normalize for a sequencer the test knows to be valid.
func mustNormalize(t *testing.T, s string) string {
	t.Helper()
	n, err := sequencer.Normalize(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
