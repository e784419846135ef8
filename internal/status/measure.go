package status

import (
	"context"
	"fmt"
	"time"

	chk "github.com/vmware/vmware-go-kcl-v2/clientlibrary/checkpoint"

	"github.com/shardline/shardline/internal/shardscan"
)

// measure fills a row's lag and rates. It reads the shard once from the previous sample's
// checkpoint (or the current one) to the tip: records up to the current checkpoint were processed
// since the previous sample, the rest are the lag.
func (s *Sampler) measure(ctx context.Context, now time.Time, row *Shard, prev string, hadPrev bool, interval time.Duration) error {
	cp := row.Checkpoint
	if cp == chk.ShardEnd {
		row.Lag = &Lag{}
		zero := 0.0
		row.IncomingPerSecond = &zero
		if hadPrev && interval > 0 && prev != chk.ShardEnd {
			return s.processedUntilEnd(ctx, row, prev, interval)
		}
		return nil
	}
	start := cp
	countProcessed := false
	if hadPrev && interval > 0 {
		switch {
		case cp == "":
			zero := 0.0 // nothing processed yet
			row.ProcessedPerSecond = &zero
		case prev == chk.ShardEnd || (prev != "" && shardscan.SequenceLess(cp, prev)):
			// Rewound since the previous sample (reprocess): no rate.
		default:
			countProcessed, start = true, prev
		}
	}
	pos := shardscan.TrimHorizon()
	if start != "" {
		pos = shardscan.After(start)
	}
	cutoff := now.Add(-s.cfg.RateWindow)
	var (
		lag         Lag
		processed   int
		recent      int
		firstLagged time.Time
	)
	res, err := s.reader.Scan(ctx, row.ID, pos, s.cfg.LagLimit, func(r shardscan.Record) bool {
		if cp != "" && !shardscan.SequenceLess(cp, r.Sequence) {
			processed++
		} else {
			if lag.Records == 0 {
				firstLagged = r.Arrival
			}
			lag.Records++
		}
		if !r.Arrival.Before(cutoff) {
			recent++
		}
		return true
	})
	if err != nil {
		return err
	}
	lag.AtLeast = !res.Complete
	lag.MillisBehindLatest = res.MillisBehindLatest
	if lag.Records > 0 {
		lag.BehindSeconds = max(0, now.Sub(firstLagged).Seconds())
	}
	row.Lag = &lag
	if countProcessed {
		v := float64(processed) / interval.Seconds()
		row.ProcessedPerSecond = &v
		row.RatesAtLeast = row.RatesAtLeast || !res.Complete
	}
	if !row.IsOpen() && res.Complete {
		zero := 0.0
		row.IncomingPerSecond = &zero
		return nil
	}
	return s.incoming(ctx, now, row, start, res, recent)
}

// incoming sets the arrival rate over RateWindow. When the scan from start reached the tip and
// start is older than the window, the scan saw every recent record; otherwise it reads from the
// window's start. kinesalite never answers AT_TIMESTAMP when nothing arrived since, so that read
// is only made when some record is known to qualify.
func (s *Sampler) incoming(ctx context.Context, now time.Time, row *Shard, start string, scan shardscan.Result, recent int) error {
	cutoff := now.Add(-s.cfg.RateWindow)
	window := s.cfg.RateWindow.Seconds()
	startOld := start == ""
	if !startOld {
		t, found, err := s.arrival(ctx, row.ID, start)
		if err != nil {
			return err
		}
		startOld = !found || t.Before(cutoff)
	}
	if startOld && scan.Complete {
		v := float64(recent) / window
		row.IncomingPerSecond = &v
		return nil
	}
	if !startOld || recent > 0 {
		n := 0
		res, err := s.reader.Scan(ctx, row.ID, shardscan.AtTime(cutoff), s.cfg.LagLimit, func(shardscan.Record) bool {
			n++
			return true
		})
		if err != nil {
			return fmt.Errorf("incoming rate: %w", err)
		}
		v := float64(n) / window
		row.IncomingPerSecond = &v
		row.RatesAtLeast = row.RatesAtLeast || !res.Complete
		return nil
	}
	// Many unprocessed records, none of the first LagLimit recent: the rate is unknown without
	// a read that kinesalite may not answer; leave it out.
	return nil
}

// processedUntilEnd counts the records after prev in a shard that has reached SHARD_END since.
func (s *Sampler) processedUntilEnd(ctx context.Context, row *Shard, prev string, interval time.Duration) error {
	pos := shardscan.TrimHorizon()
	if prev != "" {
		pos = shardscan.After(prev)
	}
	n := 0
	res, err := s.reader.Scan(ctx, row.ID, pos, s.cfg.LagLimit, func(shardscan.Record) bool {
		n++
		return true
	})
	if err != nil {
		return err
	}
	v := float64(n) / interval.Seconds()
	row.ProcessedPerSecond = &v
	row.RatesAtLeast = !res.Complete
	return nil
}

// arrival returns when the record with sequence number seq arrived (cached: it never changes).
func (s *Sampler) arrival(ctx context.Context, shardID, seq string) (time.Time, bool, error) {
	s.mu.Lock()
	t, ok := s.arrivals[seq]
	s.mu.Unlock()
	if ok {
		return t, true, nil
	}
	rec, found, err := s.reader.First(ctx, shardID, shardscan.At(seq))
	if err != nil || !found {
		return time.Time{}, false, err
	}
	s.mu.Lock()
	s.arrivals[seq] = rec.Arrival
	s.mu.Unlock()
	return rec.Arrival, true, nil
}
