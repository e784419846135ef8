package emulators

import (
	"context"
	"log/slog"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/shardline/shardline/internal/deadletter"
	"github.com/shardline/shardline/internal/ledger"
	"github.com/shardline/shardline/internal/setup"
)

// LedgerTable creates a ledger table named for the test, as setup does for production (its key,
// time to live where the server has it), deletes it when the test ends and returns its name.
func LedgerTable(t testing.TB, db *dynamodb.Client) string {
	t.Helper()
	return table(t, db, setup.Config{LedgerTable: Name(t, "ledger")}, "ledger")
}

// DeadLetterTable creates a dead-letter table named for the test, as LedgerTable does.
func DeadLetterTable(t testing.TB, db *dynamodb.Client) string {
	t.Helper()
	return table(t, db, setup.Config{DeadLetterTable: Name(t, "dead")}, "dead")
}

func table(t testing.TB, db *dynamodb.Client, cfg setup.Config, kind string) string {
	t.Helper()
	name := cfg.LedgerTable + cfg.DeadLetterTable
	if err := setup.Run(context.Background(), setup.Clients{DynamoDB: db}, cfg, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatalf("%s table: %v", kind, err)
	}
	t.Cleanup(func() {
		_, _ = db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
	})
	return name
}

// Ledger returns a Ledger on the existing table, failing the test if it cannot.
func Ledger(t testing.TB, db *dynamodb.Client, table string) *ledger.Ledger {
	t.Helper()
	l, err := ledger.New(db, table)
	return opened(t, "ledger on "+table, l, err)
}

// DeadLetters returns a dead-letter Store on the existing table, failing the test if it cannot.
func DeadLetters(t testing.TB, db *dynamodb.Client, table string) *deadletter.Store {
	t.Helper()
	s, err := deadletter.New(db, table)
	return opened(t, "dead-letter store on "+table, s, err)
}

// opened returns store, or fails the test with what when opening it failed.
func opened[T any](t testing.TB, what string, store T, err error) T {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return store
}
