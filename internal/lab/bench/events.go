package bench

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/shardline/shardline/internal/envelope"
	"github.com/shardline/shardline/internal/forwarder"
)

// putBatch is the number of events per forwarder.Writer.Write and per PutRecords call of the
// raw loop (the PutRecords limit).
const putBatch = 500

// putCallers is how many Write or PutRecords calls are in flight at once.
const putCallers = 2

// syntheticEvent is a put of bucket/key with a sequencer made of seq.
func syntheticEvent(bucket, key string, seq uint64) (envelope.Event, error) {
	return envelope.New("aws:s3", "ObjectCreated:Put", bucket, key, envelope.OpPut,
		fmt.Sprintf("%016X", seq), "d41d8cd98f00b204e9800998ecf8427e", "", 1024, time.Now())
}

// distinctKeyEvents is one put each of n different objects.
func distinctKeyEvents(bucket, prefix string, n int) ([]envelope.Event, error) {
	base := uint64(time.Now().UnixNano())
	out := make([]envelope.Event, n)
	for i := range out {
		ev, err := syntheticEvent(bucket, fmt.Sprintf("%s/%06d.jpg", prefix, i), base+uint64(i))
		if err != nil {
			return nil, err
		}
		out[i] = ev
	}
	return out, nil
}

// newWriter is a forwarder.Writer on stream with the production defaults.
func (r *runner) newWriter(stream string) (*forwarder.Writer, error) {
	return forwarder.NewWriter(forwarder.WriterConfig{Client: r.cfg.Clients.Kinesis, StreamName: stream, Logger: r.cfg.Logs})
}

// writeAll writes events in chunks of putBatch with putCallers calls in flight.
func writeAll(ctx context.Context, w *forwarder.Writer, events []envelope.Event) error {
	chunks := make(chan []envelope.Event)
	errs := make(chan error, putCallers)
	var wg sync.WaitGroup
	for range putCallers {
		wg.Go(func() {
			for c := range chunks {
				if err := w.Write(ctx, c); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	var err error
feed:
	for i := 0; i < len(events); i += putBatch {
		select {
		case chunks <- events[i:min(i+putBatch, len(events))]:
		case err = <-errs:
			break feed
		}
	}
	close(chunks)
	wg.Wait()
	close(errs)
	if err != nil {
		return err
	}
	return <-errs // nil when no caller failed
}
