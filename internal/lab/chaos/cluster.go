package chaos

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shardline/shardline/internal/lab/proc"
	"github.com/shardline/shardline/internal/lab/scrape"
)

// member is one worker process.
type member struct {
	id         string
	proc       *proc.Process
	metricsURL string
	extra      bool // started by the scale injector

	mu     sync.Mutex
	paused bool
	last   scrape.Metrics // last successful scrape (kept after the process dies)
	// onInputRead, when armed, runs once, called by the worker's own S3 proxy right after a
	// GetObject of an input object completed upstream and before the worker has the response
	// (see injector.runZombies).
	onInputRead hook
	// onLedgerCommit, when armed, runs once, called by the worker's own DynamoDB proxy when a
	// ledger write of the worker is about to be forwarded; the call reaches the ledger only when
	// it returns (see injector.aimedPause).
	onLedgerCommit hook
}

// hook holds a function to run once, at the next event it is armed for.
type hook struct{ fn atomic.Pointer[func()] }

// arm makes fn run at the next event (replacing an armed fn), or disarms with nil.
func (h *hook) arm(fn func()) {
	if fn == nil {
		h.fn.Store(nil)
		return
	}
	h.fn.Store(&fn)
}

// armed tells whether a fn waits for the next event.
func (h *hook) armed() bool { return h.fn.Load() != nil }

// fire runs and disarms the armed fn, if any.
func (h *hook) fire() {
	if fn := h.fn.Swap(nil); fn != nil {
		(*fn)()
	}
}

// arm makes fn run at m's next input read (replacing an armed fn), or disarms with nil.
func (m *member) arm(fn func()) { m.onInputRead.arm(fn) }

// inputRead runs and disarms the fn armed by arm, if any.
func (m *member) inputRead() { m.onInputRead.fire() }

// armCommit makes fn run at m's next ledger write (replacing an armed fn), or disarms with nil.
func (m *member) armCommit(fn func()) { m.onLedgerCommit.arm(fn) }

// commitArmed tells whether a fn waits for m's next ledger write.
func (m *member) commitArmed() bool { return m.onLedgerCommit.armed() }

// ledgerCommit runs and disarms the fn armed by armCommit, if any.
func (m *member) ledgerCommit() { m.onLedgerCommit.fire() }

func (m *member) setPaused(v bool) {
	m.mu.Lock()
	m.paused = v
	m.mu.Unlock()
}

func (m *member) isPaused() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.paused
}

// cluster runs the worker processes.
type cluster struct {
	binary string
	logDir string
	args   []string // common worker arguments
	env    []string // added to the workers' environment (the API fault proxies' endpoints)
	// proxies, when set, starts the gen-th worker's own S3 and DynamoDB proxies, which call
	// m.inputRead after every input read and m.ledgerCommit before every ledger write, and
	// returns the environment entries that point the worker at them.
	proxies func(gen int, m *member) ([]string, error)

	mu      sync.Mutex
	gen     int
	members []*member // running (possibly paused)
	gone    []*member // killed or stopped; their last scrape still counts
}

func (c *cluster) start(ctx context.Context, extra bool) (*member, error) {
	c.mu.Lock()
	c.gen++
	gen := c.gen
	id := fmt.Sprintf("chaos-w%02d", gen)
	c.mu.Unlock()
	addr, err := proc.FreeAddr()
	if err != nil {
		return nil, err
	}
	m := &member{id: id, metricsURL: "http://" + addr + "/metrics", extra: extra}
	env := c.env
	if c.proxies != nil {
		e, err := c.proxies(gen, m)
		if err != nil {
			return nil, err
		}
		env = append(append([]string(nil), c.env...), e...) // the last value of a name wins
	}
	args := append([]string{"work", "--worker-id", id, "--metrics-addr", addr}, c.args...)
	p, err := proc.StartEnv(c.binary, c.logDir, "chaos-", id, env, args...)
	if err != nil {
		return nil, err
	}
	m.proc = p
	if err := p.WaitReady(ctx, "http://"+addr+"/readyz", 60*time.Second); err != nil {
		p.Kill()
		return nil, err
	}
	c.mu.Lock()
	c.members = append(c.members, m)
	c.mu.Unlock()
	return m, nil
}

// take moves m from the running members to the gone ones. It reports false when m was not
// running (another injector took it first), so one process is stopped and counted once.
func (c *cluster) take(m *member) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, x := range c.members {
		if x == m {
			c.members = append(c.members[:i], c.members[i+1:]...)
			c.gone = append(c.gone, m)
			return true
		}
	}
	return false
}

// has reports whether m is still a running (possibly paused) member.
func (c *cluster) has(m *member) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, x := range c.members {
		if x == m {
			return true
		}
	}
	return false
}

func (c *cluster) running() []*member {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*member(nil), c.members...)
}

// scrapeAll records the metrics of every running, unpaused member.
func (c *cluster) scrapeAll(ctx context.Context) {
	for _, m := range c.running() {
		if m.isPaused() {
			continue
		}
		sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		got, err := scrape.Get(sctx, m.metricsURL)
		cancel()
		if err == nil {
			m.mu.Lock()
			m.last = got
			m.mu.Unlock()
		}
	}
}

// all returns every member that ever ran, running or gone.
func (c *cluster) all() []*member {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append(append([]*member(nil), c.members...), c.gone...)
}

// totals sums the last scrape of every member that ever ran.
func (c *cluster) totals() scrape.Metrics {
	c.mu.Lock()
	all := append(append([]*member(nil), c.members...), c.gone...)
	c.mu.Unlock()
	total := scrape.Metrics{}
	for _, m := range all {
		m.mu.Lock()
		last := m.last
		m.mu.Unlock()
		if last != nil {
			scrape.Merge(total, last)
		}
	}
	return total
}

// stopAll stops every running member gracefully.
func (c *cluster) stopAll(timeout time.Duration) {
	for _, m := range c.running() {
		if m.isPaused() {
			_ = m.proc.Resume()
		}
		if c.take(m) {
			_ = m.proc.Stop(timeout)
		}
	}
}
