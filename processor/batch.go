package processor

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/shardline/shardline/internal/envelope"
	"github.com/shardline/shardline/internal/ledger"
)

// BatchLedger is implemented by ledgers that read many entries in one round trip; the processor
// then reads a whole batch's objects at once instead of one Get per record.
type BatchLedger interface {
	BatchGet(ctx context.Context, objects []string) (map[string]ledger.Entry, error)
}

// batchItem is one record of a batch and what became of it.
type batchItem struct {
	rec    *types.Record
	ev     envelope.Event
	decErr error
	winner bool // the latest event of its object in this batch: the only one applied
	done   bool // finished: applied, dropped or dead-lettered
}

// processBatch finishes the records of one GetRecords batch: records of one object are coalesced
// to the latest (by sequencer) — the others are dropped as superseded, or as duplicates of it —
// and the remaining one per object runs with up to KeyConcurrency objects at once; each object
// stays serial because it has one record left. It returns the sequence number of the last record
// below which every record is finished, and whether any record was abandoned.
func (p *shardProcessor) processBatch(records []types.Record) (last *types.Record, abandoned bool) {
	p.m.received.Add(float64(len(records)))
	items := make([]batchItem, len(records))
	latest := map[string]int{} // object → index of its latest event in the batch
	for i := range records {
		it := &items[i]
		it.rec = &records[i]
		it.ev, it.decErr = envelope.Decode(it.rec.Data)
		if it.decErr != nil {
			continue
		}
		obj := it.ev.ObjectID()
		j, seen := latest[obj]
		if !seen || it.ev.Sequencer > items[j].ev.Sequencer {
			latest[obj] = i
		}
	}
	if p.cfg.NoCoalescing {
		return p.runSerial(items)
	}
	for i := range items {
		it := &items[i]
		if it.decErr != nil {
			continue
		}
		w := latest[it.ev.ObjectID()]
		switch {
		case w == i:
			it.winner = true
		case items[w].ev.Sequencer == it.ev.Sequencer && items[w].ev.Op == it.ev.Op:
			it.done = true
			p.m.records.WithLabelValues(OutcomeDuplicate).Inc()
		default:
			it.done = true
			p.m.records.WithLabelValues(OutcomeSuperseded).Inc()
		}
	}

	pre := p.readAhead(latest)
	sem := make(chan struct{}, p.cfg.KeyConcurrency)
	var wg sync.WaitGroup
	for i := range items {
		it := &items[i]
		if it.done {
			continue
		}
		sem <- struct{}{}
		if !p.owns() {
			<-sem
			break // lost the shard: start nothing more; the rest stays unfinished
		}
		wg.Add(1)
		go func() {
			defer func() {
				<-sem
				wg.Done()
			}()
			if it.decErr != nil {
				it.done = p.decodeFailure(it.rec, it.decErr)
				return
			}
			var r *ledgerRead
			if pre != nil {
				e, found := pre[it.ev.ObjectID()]
				r = &ledgerRead{entry: e, found: found}
			}
			it.done = p.processEvent(it.rec, it.ev, r)
		}()
	}
	wg.Wait()
	return finished(items)
}

// runSerial finishes every record in arrival order, one at a time, stopping at the first one
// abandoned.
func (p *shardProcessor) runSerial(items []batchItem) (*types.Record, bool) {
	for i := range items {
		it := &items[i]
		if it.decErr != nil {
			it.done = p.decodeFailure(it.rec, it.decErr)
		} else {
			it.done = p.processEvent(it.rec, it.ev, nil)
		}
		if !it.done {
			break
		}
	}
	return finished(items)
}

// finished returns the last record below which every record is done, and whether some record
// was left unfinished.
func finished(items []batchItem) (last *types.Record, abandoned bool) {
	for i := range items {
		if !items[i].done {
			return last, true
		}
		last = items[i].rec
	}
	return last, false
}

// readAhead reads the ledger entries of a batch's objects in one go when the ledger supports
// it. On failure it returns nil and every record reads its own entry.
func (p *shardProcessor) readAhead(latest map[string]int) map[string]ledger.Entry {
	bl, ok := p.cfg.Ledger.(BatchLedger)
	if !ok || len(latest) < 2 {
		return nil
	}
	objects := make([]string, 0, len(latest))
	for o := range latest {
		objects = append(objects, o)
	}
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	entries, err := bl.BatchGet(ctx, objects)
	if err != nil {
		p.log.Warn("ledger batch read failed; reading per record", slog.String("error", err.Error()))
		return nil
	}
	return entries
}
