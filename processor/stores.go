package processor

import (
	"github.com/shardline/shardline/internal/deadletter"
	"github.com/shardline/shardline/internal/ledger"
)

// stores returns the ledger and the dead-letter store of cfg's tables, with cfg's expiry of
// ledger tombstones and dead letters.
func stores(cfg Config) (*ledger.Ledger, *deadletter.Store, error) {
	led, err := ledger.New(cfg.DynamoDB, cfg.LedgerTable)
	if err != nil {
		return nil, nil, err
	}
	dl, err := deadletter.New(cfg.DynamoDB, cfg.DeadLetterTable)
	if err != nil {
		return nil, nil, err
	}
	return led.WithTombstoneTTL(cfg.LedgerTombstoneTTL), dl.WithTTL(cfg.DeadLetterTTL), nil
}
