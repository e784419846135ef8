package setup_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/shardline/shardline/internal/deadletter"
	"github.com/shardline/shardline/internal/lab/emulators"
	"github.com/shardline/shardline/internal/lab/replaytest"
	"github.com/shardline/shardline/internal/ledger"
	"github.com/shardline/shardline/internal/setup"
)

func TestTTLAttributeIsOneName(t *testing.T) {
	if setup.TTLAttribute != "expires_at" || ledger.AttrExpiresAt != setup.TTLAttribute || deadletter.AttrExpiresAt != setup.TTLAttribute {
		t.Fatalf("TTL attributes: setup %q, ledger %q, dead letters %q; want expires_at for all (Terraform enables TTL on that name)",
			setup.TTLAttribute, ledger.AttrExpiresAt, deadletter.AttrExpiresAt)
	}
}

// runSetup creates the three tables on db and returns what setup logged.
func runSetup(t *testing.T, db *dynamodb.Client) (leases, led, dead string, logged string) {
	t.Helper()
	leases, led, dead = emulators.Name(t, "leases"), emulators.Name(t, "ledger"), emulators.Name(t, "dead")
	t.Cleanup(func() {
		for _, table := range []string{leases, led, dead} {
			_, _ = db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(table)})
		}
	})
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	cfg := setup.Config{LeaseTable: leases, LedgerTable: led, DeadLetterTable: dead}
	for range 2 { // the second run finds everything in place
		if err := setup.Run(context.Background(), setup.Clients{DynamoDB: db}, cfg, log); err != nil {
			t.Fatalf("setup: %v\n%s", err, buf.String())
		}
	}
	return leases, led, dead, buf.String()
}

func ttlOf(t *testing.T, db *dynamodb.Client, table string) *ddbtypes.TimeToLiveDescription {
	t.Helper()
	out, err := db.DescribeTimeToLive(context.Background(), &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(table)})
	if err != nil {
		t.Fatalf("describe time to live of %s: %v", table, err)
	}
	return out.TimeToLiveDescription
}

// TestSetupEnablesTTL: on a DynamoDB with the TTL API (moto_server), setup enables TTL on
// expires_at for the ledger and dead-letter tables, not for the lease table, and a second run
// changes nothing.
func TestSetupEnablesTTL(t *testing.T) {
	c := emulators.Require(t)
	db := dynamodb.NewFromConfig(c.Config, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(replaytest.Moto(t)) })
	leases, led, dead, logged := runSetup(t, db)
	for _, table := range []string{led, dead} {
		d := ttlOf(t, db, table)
		if d == nil || d.TimeToLiveStatus != ddbtypes.TimeToLiveStatusEnabled || aws.ToString(d.AttributeName) != setup.TTLAttribute {
			t.Errorf("%s: time to live %+v, want ENABLED on %s", table, d, setup.TTLAttribute)
		}
	}
	if d := ttlOf(t, db, leases); d != nil && d.TimeToLiveStatus == ddbtypes.TimeToLiveStatusEnabled {
		t.Errorf("lease table has time to live: %+v", d)
	}
	if n := strings.Count(logged, "table time to live enabled"); n != 2 {
		t.Errorf("logged %d enables over two runs, want 2 (the second run changes nothing):\n%s", n, logged)
	}
}

// TestSetupToleratesNoTTL: on the local stack's dynalite, which has no UpdateTimeToLive, setup
// succeeds and says that items will not expire.
func TestSetupToleratesNoTTL(t *testing.T) {
	emulators.SkipOnMoto(t, "moto supports time to live")
	c := emulators.Require(t)
	_, _, _, logged := runSetup(t, c.DynamoDB)
	if !strings.Contains(logged, "does not support time to live") {
		t.Errorf("setup on dynalite did not log the missing time to live:\n%s", logged)
	}
}
