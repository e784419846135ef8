package chaos

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/shardline/shardline/internal/deadletter"
	"github.com/shardline/shardline/internal/envelope"
	"github.com/shardline/shardline/internal/lab/scrape"
	"github.com/shardline/shardline/internal/ledger"
)

// outcomes are the labels of shardline_worker_records_total.
var outcomes = []string{"applied", "duplicate", "stale", "superseded", "dead_lettered"}

// accounting is what the checker found about records and dead letters, beyond the guarantee.
type accounting struct {
	// Received and Finished are shardline_worker_records_received_total and the sum of
	// shardline_worker_records_total over every outcome, summed over the last scrape of every
	// worker that ever ran. Received − Finished are records a worker received and did not
	// finish: abandoned at a kill, a lease loss or a shutdown (the next owner reads them again
	// and gives them their outcome), plus what killed workers did in their last second.
	Received, Finished float64
	Scraped, Unscraped int // workers with at least one scrape / killed before their first
	// Letters are the dead letters left at the end; LedgerDeadLettered the keys whose ledger
	// entry's outcome is dead_lettered; Redriven the letters redrive put back and removed.
	Letters, LedgerDeadLettered, Redriven int
	Problems                              []string
}

// account checks that no worker finished more records than it received (each record it
// received ends in at most one outcome there, none when abandoned), that every dead letter left
// belongs to a record the ledger recorded (its event is the entry's, dead-lettered, or older than
// the entry's), and that every entry recording a dead-lettered event has its letter (a letter
// is removed only by a redrive, which reopens the entry first).
func account(ctx context.Context, members []*member, letters *deadletter.Store, led *ledger.Ledger, objects []string, redriven int) (accounting, error) {
	a := accounting{Redriven: redriven}
	for _, m := range members {
		m.mu.Lock()
		last := m.last
		m.mu.Unlock()
		if last == nil {
			a.Unscraped++
			continue
		}
		a.Scraped++
		recv, fin := last.Sum("shardline_worker_records_received_total"), finishedOf(last)
		a.Received += recv
		a.Finished += fin
		if fin > recv {
			a.Problems = append(a.Problems, fmt.Sprintf("worker %s finished %.0f records but received %.0f", m.id, fin, recv))
		}
	}
	ls, err := letters.List(ctx)
	if err != nil {
		return a, err
	}
	a.Letters = len(ls)
	byEvent := map[string]bool{}
	for _, l := range ls {
		byEvent[l.EventID] = true
		if l.Object == "" {
			a.Problems = append(a.Problems, fmt.Sprintf("letter %s (%s) holds a record that does not decode: the harness writes none", l.ID(), l.Reason))
			continue
		}
		ev, err := envelope.Decode(l.Data)
		if err != nil {
			a.Problems = append(a.Problems, fmt.Sprintf("letter %s of %s: record does not decode: %v", l.ID(), l.Object, err))
			continue
		}
		e, found, err := led.Get(ctx, l.Object)
		switch {
		case err != nil:
			return a, err
		case !found:
			a.Problems = append(a.Problems, fmt.Sprintf("letter %s of %s (%s): the object has no ledger entry", l.ID(), l.Object, l.Reason))
		case e.Sequencer < ev.Sequencer:
			a.Problems = append(a.Problems, fmt.Sprintf("letter %s of %s (%s): its event %s is newer than the ledger's %s: dead-lettered but never recorded", l.ID(), l.Object, l.Reason, ev.Sequencer, e.Sequencer))
		case e.EventID == ev.ID && e.Outcome != ledger.OutcomeDeadLettered:
			a.Problems = append(a.Problems, fmt.Sprintf("letter %s of %s (%s): the ledger records its event as %s", l.ID(), l.Object, l.Reason, e.Outcome))
		}
	}
	entries, err := led.BatchGet(ctx, objects)
	if err != nil {
		return a, err
	}
	for _, obj := range slices.Sorted(maps.Keys(entries)) {
		e := entries[obj]
		if e.Outcome != ledger.OutcomeDeadLettered {
			continue
		}
		a.LedgerDeadLettered++
		if !byEvent[e.EventID] {
			a.Problems = append(a.Problems, fmt.Sprintf("%s: the ledger records event %s (sequencer %s) as dead-lettered, but no letter holds it", obj, e.EventID, e.Sequencer))
		}
	}
	return a, nil
}

func finishedOf(m scrape.Metrics) float64 {
	var n float64
	for _, o := range outcomes {
		n += m.Sum("shardline_worker_records_total", "outcome="+o)
	}
	return n
}
