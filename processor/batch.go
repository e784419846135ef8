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

// batchLedgerStore is implemented by ledgers that read many entries in one round trip; the processor
// then reads a whole batch's objects at once instead of one Get per record.
type batchLedgerStore interface {
	BatchGet(ctx context.Context, objects []string) (map[string]ledger.Entry, error)
}

// batchItem is one record of a batch and what became of it.
type batchItem struct {
	rec    *types.Record
	ev     envelope.Event
	obj    string // ev.ObjectID(), computed once
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
	latest := make(map[string]int, len(records)) // object → index of its latest event in the batch
	for i := range records {
		it := &items[i]
		it.rec = &records[i]
		it.ev, it.decErr = envelope.Decode(it.rec.Data)
		if it.decErr != nil {
			continue
		}
		it.obj = it.ev.ObjectID()
		obj := it.obj
		j, seen := latest[obj]
		if !seen || it.ev.Sequencer > items[j].ev.Sequencer {
			latest[obj] = i
		}
	}
	if p.cfg.NoCoalescing {
		return p.runSerial(items)
	}
	p.coalesce(items, latest)

	ahead := p.readAhead(items)
	defer ahead.stop()
	// A fixed set of goroutines takes the records in batch order, rather than a goroutine per
	// record: a record's ledger commit runs deep in the AWS SDK's middleware, and each new
	// goroutine grew (copied) its stack to that depth again, a tenth of the worker's CPU per
	// record. sem still bounds the records in flight and is taken before a record is handed
	// over, so ownership is checked when a slot is free, as before.
	todo := 0
	for i := range items {
		if !items[i].done {
			todo++
		}
	}
	sem := make(chan struct{}, p.cfg.KeyConcurrency)
	work := make(chan *batchItem, p.cfg.KeyConcurrency)
	var wg sync.WaitGroup
	for range min(p.cfg.KeyConcurrency, todo) {
		wg.Go(func() {
			for it := range work {
				if it.decErr != nil {
					it.done = p.decodeFailure(it.rec, it.decErr)
				} else {
					it.done = p.processEvent(it.rec, it.ev, ahead.entry(it.obj))
				}
				<-sem
			}
		})
	}
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
		work <- it
	}
	close(work)
	wg.Wait()
	return finished(items)
}

// coalesce keeps the latest event of each object (latest: object → its index) and finishes the
// others by the ledger rule, as if the latest were already committed: what ledger.Decide calls a
// duplicate of it is a duplicate, anything older is superseded.
func (p *shardProcessor) coalesce(items []batchItem, latest map[string]int) {
	for i := range items {
		it := &items[i]
		if it.decErr != nil {
			continue
		}
		w := latest[it.obj]
		if w == i {
			it.winner = true
			continue
		}
		it.done = true
		newest := ledger.Entry{Object: it.obj, Sequencer: items[w].ev.Sequencer, Epoch: p.epoch}
		if ledger.Decide(newest, true, p.epoch, it.ev) == ledger.Duplicate {
			p.m.records.WithLabelValues(OutcomeDuplicate).Inc()
		} else {
			p.m.records.WithLabelValues(OutcomeSuperseded).Inc()
		}
	}
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

// Read-ahead of a batch's ledger entries: the objects are read in chunks of readAheadChunk
// (BatchGetItem's limit), readAheadCalls chunks at once, in batch order, and each record waits
// only for its own chunk; so the first records start after one round trip instead of after the
// whole batch was read, and the reads overlap the commits of the records before them.
const (
	readAheadChunk = 100
	readAheadCalls = 4
)

// chunkRead is one chunk's read: entries is valid once done is closed; ok is false when the read
// failed (each of its records then reads its own entry).
type chunkRead struct {
	done    chan struct{}
	entries map[string]ledger.Entry
	ok      bool
}

// aheadReads are the chunk reads of one batch. The zero value reads nothing.
type aheadReads struct {
	chunkOf map[string]*chunkRead // object → its chunk
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// entry waits for object's chunk and returns the object's entry read ahead, or nil when there
// is none to use (no read-ahead, or it failed).
func (a *aheadReads) entry(object string) *ledgerRead {
	c := a.chunkOf[object]
	if c == nil {
		return nil
	}
	<-c.done
	if !c.ok {
		return nil
	}
	e, found := c.entries[object]
	return &ledgerRead{entry: e, found: found}
}

// stop cancels the reads still running (nobody waits for them any more once the batch is over)
// and returns when every reader has ended.
func (a *aheadReads) stop() {
	if a.cancel != nil {
		a.cancel()
	}
	a.wg.Wait()
}

// readChunk reads one chunk's entries; ok is false when the read failed.
func (p *shardProcessor) readChunk(ctx context.Context, bl batchLedgerStore, objects []string) (entries map[string]ledger.Entry, ok bool) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	entries, err := bl.BatchGet(ctx, objects)
	if err != nil {
		if ctx.Err() == nil {
			p.log.Warn("ledger batch read failed; reading per record", slog.Int("objects", len(objects)), slog.String("error", err.Error()))
		}
		return nil, false
	}
	return entries, true
}

// readAhead starts reading the ledger entries of the batch's objects that will run (one per
// object, in batch order) when the ledger supports batch reads and there are at least two.
func (p *shardProcessor) readAhead(items []batchItem) *aheadReads {
	a := &aheadReads{}
	bl, ok := p.cfg.Ledger.(batchLedgerStore)
	if !ok {
		return a
	}
	objects := make([]string, 0, len(items))
	for i := range items {
		if !items[i].done && items[i].decErr == nil {
			objects = append(objects, items[i].obj)
		}
	}
	if len(objects) < 2 {
		return a
	}
	a.chunkOf = make(map[string]*chunkRead, len(objects))
	type job struct {
		objects []string
		read    *chunkRead
	}
	jobs := make(chan job, (len(objects)+readAheadChunk-1)/readAheadChunk)
	for start := 0; start < len(objects); start += readAheadChunk {
		j := job{objects: objects[start:min(start+readAheadChunk, len(objects))], read: &chunkRead{done: make(chan struct{})}}
		for _, o := range j.objects {
			a.chunkOf[o] = j.read
		}
		jobs <- j
	}
	close(jobs)
	ctx, cancel := context.WithCancel(p.ctx)
	a.cancel = cancel
	// A few readers take the chunks in batch order, so the first records' chunk comes first.
	for range min(readAheadCalls, cap(jobs)) {
		a.wg.Go(func() {
			for j := range jobs {
				j.read.entries, j.read.ok = p.readChunk(ctx, bl, j.objects)
				close(j.read.done)
			}
		})
	}
	return a
}
