package processor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	kcl "github.com/vmware/vmware-go-kcl-v2/clientlibrary/interfaces"

	"github.com/shardline/shardline/checkpoint"
)

// factory creates one record processor per shard lease for the KCL worker.
type factory struct {
	ctx context.Context
	cfg recordConfig
	m   *metrics

	calls    *handlerTracker // every handler goroutine, overdue ones included
	overdueN atomic.Int64    // handler calls abandoned at their deadline and still running

	now      func() time.Time                                                 // time.Now; tests pin it
	pause    func(ctx context.Context, stop <-chan struct{}, d time.Duration) // tests record it
	stopping chan struct{}                                                    // closed by Stopping
	stopOnce sync.Once
}

// Stopping tells the processors that the worker is shutting down: a shard waiting to pace its
// next read returns to the KCL at once, so that the KCL can stop it and hand its lease over.
func (f *factory) Stopping() { f.stopOnce.Do(func() { close(f.stopping) }) }

var _ kcl.IRecordProcessorFactory = (*factory)(nil)

// newFactory returns a factory. ctx is the worker's root context: cancelling it aborts in-flight
// handler calls and retries (their records stay unapplied and are not checkpointed).
func newFactory(ctx context.Context, cfg recordConfig) (*factory, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	return &factory{ctx: ctx, cfg: cfg, m: m, calls: newHandlerTracker(), now: time.Now, pause: pause, stopping: make(chan struct{})}, nil
}

// CreateProcessor implements kcl.IRecordProcessorFactory.
func (f *factory) CreateProcessor() kcl.IRecordProcessor {
	p := &shardProcessor{ctx: f.ctx, cfg: f.cfg, m: f.m, f: f}
	p.verifier, _ = f.cfg.Handler.(Verifier)
	return p
}

// shardProcessor processes one shard lease, serially, record by record.
type shardProcessor struct {
	ctx   context.Context
	cfg   recordConfig
	m     *metrics
	f     *factory
	log   *slog.Logger
	shard string

	verifier Verifier // the handler, if it can verify its outputs

	epoch       int64
	haveEpoch   bool
	parentsDone bool // every parent shard reached SHARD_END (or there are none)
	stopped     bool // gave the shard up: process and checkpoint nothing more
}

// Initialize implements kcl.IRecordProcessor.
func (p *shardProcessor) Initialize(in *kcl.InitializationInput) {
	p.shard = in.ShardId
	p.log = p.cfg.Logger.With(slog.String("shard", p.shard))
	p.m.shardsActive.Inc()
	from := ""
	if in.ExtendedSequenceNumber != nil {
		from = aws.ToString(in.ExtendedSequenceNumber.SequenceNumber)
	}
	p.log.Info("shard processor started", slog.String("checkpoint", from))
}

// ProcessRecords implements kcl.IRecordProcessor. It returns only when every record of the batch
// is finished, or when it gave the shard up (lease lost, shutdown); it then checkpoints the last
// record below which everything is finished.
func (p *shardProcessor) ProcessRecords(in *kcl.ProcessRecordsInput) {
	if p.stopped {
		return
	}
	p.m.behind.WithLabelValues(p.shard).Set(float64(in.MillisBehindLatest))
	if !p.parentsDone && !p.waitForParents() {
		return
	}
	if !p.haveEpoch {
		if !p.loadEpoch() {
			reason := "epoch_unavailable"
			if p.ctx.Err() != nil {
				reason = "shutdown"
			}
			p.stop(reason)
			return
		}
	}
	last, abandoned := p.processBatch(in.Records)
	if last != nil && p.owns() {
		if p.checkpoint(in.Checkpointer, last.SequenceNumber) && last.ApproximateArrivalTimestamp != nil {
			p.m.cpLag.WithLabelValues(p.shard).Set(time.Since(*last.ApproximateArrivalTimestamp).Seconds())
		}
	}
	if !abandoned {
		p.paceRead(in)
	}
	if abandoned {
		// The KCL never redelivers the rest of this batch to this processor: processing or
		// checkpointing any later record (or SHARD_END) would skip the abandoned one. Give the
		// shard up so that the next owner resumes from the checkpoint.
		p.stop(p.giveUpReason())
	}
}

// paceRead returns to the KCL, which reads the shard again at once, no sooner than ReadInterval
// after this batch's read started, unless the batch was full or the shard is at least
// ReadInterval behind the stream's tip (see recordConfig.ReadInterval). Shutdown ends the wait.
func (p *shardProcessor) paceRead(in *kcl.ProcessRecordsInput) {
	interval := p.cfg.ReadInterval
	if interval <= 0 || in.CacheEntryTime == nil || len(in.Records) >= p.cfg.MaxRecords ||
		in.MillisBehindLatest >= interval.Milliseconds() || !p.owns() {
		return
	}
	if wait := in.CacheEntryTime.Add(interval).Sub(p.f.now()); wait > 0 {
		p.f.pause(p.ctx, p.f.stopping, wait)
	}
}

// pause waits d, or until ctx ends or stop is closed.
func pause(ctx context.Context, stop <-chan struct{}, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-stop:
	case <-t.C:
	}
}

// forgetShardSeries removes this shard's per-shard series: another worker reports it now.
func (p *shardProcessor) forgetShardSeries() {
	p.m.behind.DeleteLabelValues(p.shard)
	p.m.cpLag.DeleteLabelValues(p.shard)
}

func (p *shardProcessor) giveUpReason() string {
	if p.ctx.Err() != nil {
		return "shutdown"
	}
	return "lease_lost"
}

// waitForParents blocks until every parent of the shard (ParentShardId and, after a merge,
// AdjacentParentShardId) reached SHARD_END, so that no event of a key is processed from a child
// before the older events of that key in a parent. It reports false if it gave the shard up
// (shutdown or lease lost) while waiting.
func (p *shardProcessor) waitForParents() bool {
	if p.cfg.Topology == nil {
		p.parentsDone = true
		return true
	}
	waited := false
	for {
		pending, err := p.unfinishedParents()
		switch {
		case err != nil:
			p.log.Warn("cannot check parent shards", slog.String("error", err.Error()))
		case len(pending) == 0:
			p.parentsDone = true
			if waited {
				p.log.Info("parent shards finished: processing the child shard")
			}
			return true
		case !waited:
			waited = true
			p.m.parentWaits.Inc()
			p.log.Info("waiting for parent shards to reach SHARD_END", slog.Any("parents", pending))
		}
		if !p.owns() {
			p.stop(p.giveUpReason())
			return false
		}
		t := time.NewTimer(p.cfg.ParentPoll)
		select {
		case <-p.ctx.Done():
			t.Stop()
			p.stop("shutdown")
			return false
		case <-t.C:
		}
	}
}

func (p *shardProcessor) unfinishedParents() ([]string, error) {
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	parents, err := p.cfg.Topology.Parents(ctx, p.shard)
	if err != nil {
		return nil, err
	}
	var pending []string
	for _, parent := range parents {
		done, err := p.cfg.Topology.Finished(ctx, parent)
		if err != nil {
			return nil, err
		}
		if !done {
			pending = append(pending, parent)
		}
	}
	return pending, nil
}

// Shutdown implements kcl.IRecordProcessor. At the end of a shard (TERMINATE) it records
// SHARD_END so that child shards may start; nothing else needs writing because every batch is
// checkpointed as it finishes.
//
// SHARD_END is written only after the shard's own parents finished: the KCL calls ProcessRecords
// only with records, so an empty child (say, a merge closed again by a split) reaches Shutdown
// without ever having waited, and its SHARD_END would let its children overtake its parents. The
// write is retried until it is recorded, the lease is lost, or the worker stops: the KCL never
// writes SHARD_END again for a shard it saw end, so giving up early would leave the shard's
// children waiting for a parent nobody finishes.
func (p *shardProcessor) Shutdown(in *kcl.ShutdownInput) {
	defer p.m.shardsActive.Dec()
	defer p.forgetShardSeries()
	if in.ShutdownReason != kcl.TERMINATE {
		p.m.stops.WithLabelValues("shutdown").Inc()
		p.log.Info("shard processor stopped", slog.String("reason", aws.ToString(kcl.ShutdownReasonMessage(in.ShutdownReason))))
		return
	}
	if p.stopped || !p.owns() {
		p.log.Warn("shard ended but this worker no longer owns it: not writing SHARD_END")
		return
	}
	if !p.parentsDone && !p.waitForParents() {
		return
	}
	if p.writeShardEnd(in.Checkpointer) {
		p.m.stops.WithLabelValues("shard_end").Inc()
		p.log.Info("shard finished: SHARD_END recorded")
	}
}

// writeShardEnd writes SHARD_END, retrying transient failures with backoff for as long as this
// worker owns the lease and is not shutting down. It reports whether SHARD_END was recorded; if
// not, the shard has been given up (stop), so that the next owner reads the shard's end again and
// writes SHARD_END itself.
func (p *shardProcessor) writeShardEnd(cp kcl.IRecordProcessorCheckpointer) bool {
	err := p.retryForever(func(context.Context) error {
		if !p.owns() {
			return errAbandoned
		}
		err := p.writeCheckpoint(cp, nil)
		if err != nil && p.stopped { // refused: the lease is lost
			return fmt.Errorf("%w: %v", errAbandoned, err)
		}
		return err
	})
	if err != nil && !p.stopped {
		p.stop(p.giveUpReason())
	}
	return err == nil
}

func (p *shardProcessor) owns() bool { return !p.stopped && p.cfg.Leases.Owns(p.shard) }

// stop gives the shard up: nothing more is processed or checkpointed by this processor and the
// KCL releases the lease at its next renewal.
func (p *shardProcessor) stop(reason string) {
	if p.stopped {
		return
	}
	p.stopped = true
	p.forgetShardSeries()
	p.cfg.Leases.Revoke(p.shard)
	p.m.stops.WithLabelValues(reason).Inc()
	p.log.Warn("giving up shard", slog.String("reason", reason))
}

// checkpoint writes seq (nil = SHARD_END) and reports whether it was recorded. A failure is
// logged and otherwise ignored: the next batch checkpoints further, so nothing is lost if this
// one is missed.
func (p *shardProcessor) checkpoint(cp kcl.IRecordProcessorCheckpointer, seq *string) bool {
	err := p.writeCheckpoint(cp, seq)
	if err != nil && !p.stopped {
		p.log.Warn("checkpoint failed", slog.String("error", err.Error()))
	}
	return err == nil
}

// writeCheckpoint writes seq (nil = SHARD_END). A refusal (the lease is lost) gives the shard up;
// every error is returned.
func (p *shardProcessor) writeCheckpoint(cp kcl.IRecordProcessorCheckpointer, seq *string) error {
	err := cp.Checkpoint(seq)
	switch {
	case err == nil:
		p.m.checkpoints.WithLabelValues("ok").Inc()
	case errors.Is(err, checkpoint.ErrLeaseLost):
		p.m.checkpoints.WithLabelValues("refused").Inc()
		p.stop("lease_lost")
	default:
		p.m.checkpoints.WithLabelValues("error").Inc()
	}
	return err
}

func (p *shardProcessor) loadEpoch() bool {
	err := p.retry(func(ctx context.Context) error {
		e, err := p.cfg.Ledger.Epoch(ctx)
		p.epoch = e
		return err
	})
	if err != nil {
		p.log.Error("cannot read the ledger epoch", slog.String("error", err.Error()))
		return false
	}
	p.haveEpoch = true
	return true
}
