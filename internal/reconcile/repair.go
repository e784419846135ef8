package reconcile

import (
	"context"
	"fmt"

	"github.com/shardline/shardline/internal/envelope"
	"github.com/shardline/shardline/internal/sequencer"
)

// fix builds one synthetic event per repairable problem and puts them on the stream.
func fix(ctx context.Context, cfg Config, res *Result, inputs map[string]object, progress func(func(*Progress))) error {
	var (
		events []envelope.Event
		index  []int
	)
	now := cfg.Now()
	for i := range res.Problems {
		p := &res.Problems[i]
		op, name := envelope.OpPut, EventNamePut
		switch p.Kind {
		case Missing, Stale:
		case Orphaned:
			op, name = envelope.OpDelete, EventNameDelete
		default:
			continue
		}
		e, found, err := cfg.Ledger.Get(ctx, cfg.InputBucket+"/"+p.Key)
		if err != nil {
			return err
		}
		last := ""
		if found {
			last = e.Sequencer
		}
		seq, err := sequencer.Synthetic(last)
		if err != nil {
			p.FixError = err.Error()
			continue
		}
		in := inputs[p.Key]
		ev, err := envelope.New(Source, name, cfg.InputBucket, p.Key, op, seq, in.etag, "", in.size, now)
		if err != nil {
			p.FixError = err.Error()
			continue
		}
		p.Fix, p.Sequencer = op, seq
		events = append(events, ev)
		index = append(index, i)
	}
	const chunk = 500
	for start := 0; start < len(events); start += chunk {
		end := min(start+chunk, len(events))
		if err := cfg.Writer.Write(ctx, events[start:end]); err != nil {
			for _, i := range index[start:] {
				res.Problems[i].Fix, res.Problems[i].FixError = "", "not enqueued: "+err.Error()
			}
			return fmt.Errorf("enqueue repairs: %w", err)
		}
		progress(func(p *Progress) { p.Enqueued += end - start })
	}
	return nil
}
