package processor

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
)

// TestStoresCarryTheTTLs: the worker's ledger and dead-letter store expire what the Config says.
func TestStoresCarryTheTTLs(t *testing.T) {
	for _, tc := range []struct {
		name                string
		tombstone, deadLets time.Duration
	}{
		{"defaults: never", 0, 0},
		{"both set", 216 * time.Hour, 720 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{DynamoDB: dynamodb.New(dynamodb.Options{}), LedgerTable: "ledger", DeadLetterTable: "dead",
				LedgerTombstoneTTL: tc.tombstone, DeadLetterTTL: tc.deadLets}
			led, dl, err := stores(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if led.TombstoneTTL() != tc.tombstone || dl.TTL() != tc.deadLets {
				t.Errorf("ledger tombstone TTL %s, dead-letter TTL %s; want %s, %s", led.TombstoneTTL(), dl.TTL(), tc.tombstone, tc.deadLets)
			}
		})
	}
}

func TestValidateRefusesNegativeTTLs(t *testing.T) {
	cfg := Config{
		Kinesis: kinesis.New(kinesis.Options{}), DynamoDB: dynamodb.New(dynamodb.Options{Region: "us-east-1"}),
		Handler: HandlerFunc(nil), Region: "us-east-1", StreamName: "s", LeaseTable: "l", LedgerTable: "g",
		DeadLetterTable: "d", WorkerID: "w",
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	for _, adjust := range []func(*Config){
		func(c *Config) { c.LedgerTombstoneTTL = -time.Second },
		func(c *Config) { c.DeadLetterTTL = -time.Second },
	} {
		c := cfg
		adjust(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "TTL") {
			t.Errorf("negative TTL: %v", err)
		}
	}
}
