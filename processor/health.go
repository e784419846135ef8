package processor

import (
	"fmt"
	"sync"
	"time"

	"github.com/shardline/shardline/internal/telemetry"
)

// signals are what a worker's health is decided from: when its KCL event loop last reached the
// stream and the lease table, and how many leases it holds and could take.
type signals struct {
	// Now is the time of the decision.
	Now time.Time
	// Started is when the KCL worker started; zero while it has not (yet).
	Started time.Time
	// Stopping is true once shutdown began.
	Stopping bool
	// ShardSync is the last successful ListShards of the KCL's event loop (its shard sync); zero
	// if there was none yet.
	ShardSync time.Time
	// LeaseTable is the last successful call of the lease table: a lease taken or renewed, a
	// checkpoint written, a lease read or scanned; zero if there was none yet.
	LeaseTable time.Time
	// Held is how many leases the worker holds now.
	Held int
	// Free is how many unfinished shards no live worker holds, as the event loop last saw them.
	Free int
}

// bounds are the staleness limits of a worker's health.
type bounds struct {
	// NotReadyAfter: with no successful shard sync or lease-table call for longer, the worker
	// is not ready.
	NotReadyAfter time.Duration
	// NotLiveAfter: with no successful shard sync or lease-table call for longer, the worker is
	// stuck (not live) and should be replaced. Longer than NotReadyAfter.
	NotLiveAfter time.Duration
}

// Assess decides a worker's liveness and readiness from s, with the reason. It is pure.
//
//   - Shutting down: live and not ready, whatever the other signals.
//   - Not live: no successful shard sync, or no successful lease-table call, for longer than
//     NotLiveAfter (counted from Started when there was none yet).
//   - Ready: started and not stopping, a shard sync and a lease-table call within
//     NotReadyAfter, and either a lease held or none free to take (a standby worker with every
//     shard held by others is ready).
func assess(s signals, b bounds) telemetry.Status {
	st := telemetry.Status{Live: true, Details: map[string]any{
		"leasesHeld": s.Held, "leasesFree": s.Free,
		"notReadyAfter": b.NotReadyAfter.String(), "notLiveAfter": b.NotLiveAfter.String(),
	}}
	if s.Started.IsZero() {
		st.Reason = "starting: the KCL worker has not started yet"
		return st
	}
	since := func(t time.Time) time.Duration {
		if t.IsZero() {
			t = s.Started
		}
		return s.Now.Sub(t).Round(time.Millisecond)
	}
	syncAge, tableAge := since(s.ShardSync), since(s.LeaseTable)
	st.Details["sinceShardSync"] = syncAge.String()
	st.Details["sinceLeaseTable"] = tableAge.String()
	if s.ShardSync.IsZero() {
		st.Details["sinceShardSync"] = "never (started " + syncAge.String() + " ago)"
	}
	if s.LeaseTable.IsZero() {
		st.Details["sinceLeaseTable"] = "never (started " + tableAge.String() + " ago)"
	}
	switch {
	case s.Stopping:
		st.Reason = "shutting down"
	case syncAge > b.NotLiveAfter:
		st.Live = false
		st.Reason = fmt.Sprintf("stuck: no successful shard sync (ListShards) for %s, more than %s: Kinesis unreachable, the stream gone, or the KCL event loop stuck", syncAge, b.NotLiveAfter)
		return st
	case tableAge > b.NotLiveAfter:
		st.Live = false
		st.Reason = fmt.Sprintf("stuck: no successful lease-table call for %s, more than %s: DynamoDB unreachable, the table gone, or the KCL event loop stuck", tableAge, b.NotLiveAfter)
		return st
	case s.ShardSync.IsZero():
		st.Reason = "starting: no shard sync yet"
	case syncAge > b.NotReadyAfter:
		st.Reason = fmt.Sprintf("stream not reached: no successful shard sync (ListShards) for %s, more than %s", syncAge, b.NotReadyAfter)
	case s.LeaseTable.IsZero():
		st.Reason = "starting: no lease-table call yet"
	case tableAge > b.NotReadyAfter:
		st.Reason = fmt.Sprintf("lease table not reached: no successful call for %s, more than %s", tableAge, b.NotReadyAfter)
	case s.Held == 0 && s.Free > 0:
		st.Reason = fmt.Sprintf("holds no lease while %d shard(s) are free to take", s.Free)
	case s.Held == 0:
		st.Ready = true
		st.Reason = "ready: standby, every shard is held by another worker"
	default:
		st.Ready = true
		st.Reason = fmt.Sprintf("ready: holds %d lease(s)", s.Held)
	}
	return st
}

// Health reports a worker's liveness and readiness for /healthz and /readyz. Run keeps it up to
// date; the zero value reports "starting" (live, not ready) until Run starts the worker. Pass one
// to Run in Config.Health and answer your probes from its Health method (Status.Live false:
// 503 on /healthz, replace the process; Status.Ready false: 503 on /readyz).
type Health struct {
	mu       sync.Mutex
	bounds   bounds
	started  time.Time
	stopping bool
	progress *progress
	now      func() time.Time
}

// Status is a worker's health, as Health reports it and /healthz and /readyz serve it: Live
// false means stuck (replace the process), Ready false means it cannot do its work now; Reason
// says why in words an operator can act on.
type Status = telemetry.Status

// Health reports the worker's health now (no I/O: call it from every probe). It implements
// telemetry.Checker.
func (h *Health) Health() Status {
	h.mu.Lock()
	s, b, p, now := signals{Started: h.started, Stopping: h.stopping}, h.bounds, h.progress, h.now
	h.mu.Unlock()
	if now == nil {
		now = time.Now
	}
	s.Now = now()
	if p != nil {
		p.fill(&s)
	}
	return assess(s, b)
}

func (h *Health) start(b bounds, p *progress, now func() time.Time) {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.bounds, h.progress, h.now, h.started, h.stopping = b, p, now, now(), false
}

func (h *Health) stop() {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stopping = true
}
