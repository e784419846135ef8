package chaos

import (
	"context"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/shardline/shardline/internal/lab/hookproxy"
	"github.com/shardline/shardline/internal/lab/proc"
	"github.com/shardline/shardline/internal/lab/quiesce"
)

// proxy receives MinIO's notifications and passes them to the forwarder, injecting faults:
// a duplicated notification is sent again a few seconds later; a held one is acknowledged to
// MinIO at once but reaches the forwarder only later, after newer events of the same key.
type proxy struct {
	target     string
	token      string // sent to the forwarder
	minioToken string // required of MinIO's requests; empty: not checked
	bucket     string
	dupP       float64 // probability a notification is sent twice
	holdP      float64 // probability a notification is held back and released out of order

	mu         sync.Mutex
	rng        *rand.Rand
	queue      []queued
	received   int // events MinIO delivered for our bucket
	duplicated int // extra deliveries
	held       int // events delivered out of order
}

type queued struct {
	body []byte
	due  time.Time
}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n, ok := hookproxy.Receive(w, r, p.minioToken, p.bucket)
	if !ok {
		return
	}
	body, events := n.Body, n.Events
	p.mu.Lock()
	dup, hold := p.rng.Float64() < p.dupP, p.rng.Float64() < p.holdP
	holdFor := time.Duration(1000+p.rng.IntN(7000)) * time.Millisecond
	dupAfter := time.Duration(500+p.rng.IntN(4500)) * time.Millisecond
	p.mu.Unlock()

	if !hold {
		if err := p.send(r.Context(), body); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable) // MinIO retries
			return
		}
	}
	p.mu.Lock()
	p.received += len(events)
	if hold {
		p.held += len(events)
		p.queue = append(p.queue, queued{body: body, due: time.Now().Add(holdFor)})
	}
	if dup {
		p.duplicated += len(events)
		p.queue = append(p.queue, queued{body: body, due: time.Now().Add(dupAfter)})
	}
	p.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

func (p *proxy) send(ctx context.Context, body []byte) error {
	return proc.PostJSON(ctx, p.target, p.token, body)
}

// release sends every queued notification that is due (all of them when flush is set) and keeps
// the ones the forwarder refused for the next round. It returns how many are still queued.
func (p *proxy) release(ctx context.Context, flush bool) int {
	p.mu.Lock()
	var due, later []queued
	now := time.Now()
	for _, q := range p.queue {
		if flush || !q.due.After(now) {
			due = append(due, q)
		} else {
			later = append(later, q)
		}
	}
	p.queue = later
	p.mu.Unlock()
	var failed []queued
	for _, q := range due {
		if err := p.send(ctx, q.body); err != nil {
			failed = append(failed, q)
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.queue = append(p.queue, failed...)
	return len(p.queue)
}

// releaser releases due notifications until ctx ends.
func (p *proxy) releaser(ctx context.Context) {
	_ = quiesce.Every(ctx, 100*time.Millisecond, func() error {
		p.release(ctx, false)
		return nil
	})
}

func (p *proxy) stats() (received, duplicated, held int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.received, p.duplicated, p.held
}
