package chaos

import (
	"context"
	"sync"
	"time"

	chk "github.com/vmware/vmware-go-kcl-v2/clientlibrary/checkpoint"

	"github.com/shardline/shardline/checkpoint"
	"github.com/shardline/shardline/internal/lab/quiesce"
)

// leaseWatch polls the lease table: it counts lease moves between workers and measures
// failovers (how long a killed worker's shards stay without a live owner).
type leaseWatch struct {
	table *checkpoint.Checkpointer

	mu        sync.Mutex
	owner     map[string]string // shard → last non-empty owner
	current   []checkpoint.Lease
	moves     int
	failovers []time.Duration
	pending   []failover
}

type failover struct {
	victim string
	shards []string
	since  time.Time
}

func (w *leaseWatch) run(ctx context.Context) {
	_ = quiesce.Every(ctx, 200*time.Millisecond, func() error {
		w.poll(ctx)
		return nil
	})
}

// poll reads the lease table once and counts what changed since the last read.
func (w *leaseWatch) poll(ctx context.Context) {
	leases, err := w.table.Scan(ctx)
	if err != nil {
		return
	}
	now := time.Now()
	w.mu.Lock()
	w.current = leases
	for _, l := range leases {
		if l.Owner != "" && now.Before(l.LeaseTimeout) {
			if prev := w.owner[l.ShardID]; prev != "" && prev != l.Owner {
				w.moves++
			}
			w.owner[l.ShardID] = l.Owner
		}
	}
	var still []failover
	for _, f := range w.pending {
		if w.recovered(f, leases, now) {
			w.failovers = append(w.failovers, now.Sub(f.since))
		} else {
			still = append(still, f)
		}
	}
	w.pending = still
	w.mu.Unlock()
}

// recovered reports whether every shard the victim held has a live owner other than the victim,
// or has ended.
func (w *leaseWatch) recovered(f failover, leases []checkpoint.Lease, now time.Time) bool {
	for _, id := range f.shards {
		for _, l := range leases {
			if l.ShardID != id {
				continue
			}
			if l.Checkpoint == chk.ShardEnd {
				break
			}
			if l.Owner == "" || l.Owner == f.victim || !now.Before(l.LeaseTimeout) {
				return false
			}
		}
	}
	return true
}

// killed starts measuring the failover of a worker killed now.
func (w *leaseWatch) killed(victim string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var shards []string
	for _, l := range w.current {
		if l.Owner == victim && l.Checkpoint != chk.ShardEnd {
			shards = append(shards, l.ShardID)
		}
	}
	if len(shards) > 0 {
		w.pending = append(w.pending, failover{victim: victim, shards: shards, since: time.Now()})
	}
}

func (w *leaseWatch) stats() (moves int, failovers []time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.moves, append([]time.Duration(nil), w.failovers...)
}

// owners returns the workers that held a live lease at the last poll.
func (w *leaseWatch) owners() map[string]bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := time.Now()
	out := map[string]bool{}
	for _, l := range w.current {
		if l.Owner != "" && now.Before(l.LeaseTimeout) && l.Checkpoint != chk.ShardEnd {
			out[l.Owner] = true
		}
	}
	return out
}
