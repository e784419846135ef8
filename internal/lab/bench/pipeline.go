package bench

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	kintypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"golang.org/x/sync/errgroup"

	"github.com/shardline/shardline/internal/envelope"
	"github.com/shardline/shardline/internal/ledger"
	"github.com/shardline/shardline/internal/setup"
	"github.com/shardline/shardline/processor"
)

const (
	// pipelineShards is the stream width of the pipeline rows.
	pipelineShards = 2
	// pipelineEvents is how many events the pipeline and the raw loops move, one per object.
	pipelineEvents = 4000
	// ledgerWrites is how many conditional writes the ledger-store loop makes.
	ledgerWrites = 1000
	// getLimit is the GetRecords limit of the raw loop: the worker's default MaxRecords.
	getLimit = 1000
)

// ledgerSweep are the other numbers of calls in flight the ledger-store loop is measured with,
// after the pipeline, to find the ledger store's best conditional-write rate on this machine.
var ledgerSweep = []int{16, 128}

// noop is the handler of the pipeline rows: it does nothing, so the figure is the cost of
// shardline itself (decode, coalesce, ledger read and conditional write, checkpoint).
var noop = processor.HandlerFunc(func(context.Context, processor.Event) error { return nil })

func (r *runner) pipelineSection(ctx context.Context, t *table) {
	const sec = SectionPipeline
	// Information only: on the local stack the emulators share the CPUs with the worker, so the
	// ratio measures them more than shardline (the shard-limit section has the targets).
	const target = ""
	events, err := distinctKeyEvents("bench-pipeline", "obj", pipelineEvents)
	if err != nil {
		t.fail(sec, "events", "", err)
		return
	}

	r.cfg.Progress.Info("pipeline: raw PutRecords and GetRecords loops", "records", len(events))
	put, get, err := r.rawLoops(ctx, events)
	if err != nil {
		t.fail(sec, "ceiling: PutRecords + GetRecords loops", "", err)
		t.fail(sec, "pipeline ÷ ceiling", target, errors.New("no ceiling"))
		return
	}
	n := float64(len(events))
	ceiling := n / (put + get).Seconds()
	t.add(row{section: sec, what: "ceiling: PutRecords loop", figure: perSecond(n/put.Seconds(), "records/s"),
		note: fmt.Sprintf("%d records, %d per call, %d calls in flight", len(events), putBatch, putCallers)})
	t.add(row{section: sec, what: "ceiling: GetRecords loop", figure: perSecond(n/get.Seconds(), "records/s"),
		note: fmt.Sprintf("%d shards read in parallel, limit %d, no pauses", pipelineShards, getLimit)})
	t.add(row{section: sec, what: "ceiling: put + get", figure: perSecond(ceiling, "events/s"),
		note: "records ÷ (put time + get time): each event is put once and read once by one Kinesis server"})

	// The ledger store's own ceiling, measured before and after the pipeline (the better counts):
	// every applied event costs one conditional write, so the pipeline cannot beat it.
	inFlight := pipelineShards * processor.DefaultKeyConcurrency()
	ledgerLoop := func() (float64, error) {
		r.cfg.Progress.Info("pipeline: raw conditional-write loop on the ledger store", "writes", ledgerWrites)
		return r.ledgerLoop(ctx, events[:min(ledgerWrites, len(events))], inFlight)
	}
	ledgerRate, ledgerErr := ledgerLoop()

	r.cfg.Progress.Info("pipeline: forwarder.Writer → stream → worker → ledger", "events", len(events))
	rate, wrote, applied, err := r.pipeline(ctx, events)

	if again, errAgain := ledgerLoop(); ledgerErr != nil || (errAgain == nil && again > ledgerRate) {
		ledgerRate, ledgerErr = again, errAgain
	}
	if ledgerErr != nil {
		t.fail(sec, "ledger store: conditional PutItem loop", "", ledgerErr)
	} else {
		t.add(row{section: sec, what: "ledger store: conditional PutItem loop", figure: perSecond(ledgerRate, "writes/s"),
			note: fmt.Sprintf("%d ledger.Commit calls, %d in flight (2 shards × default key concurrency); best of before and after the pipeline", ledgerWrites, inFlight)})
	}
	// The ledger store's best rate at any of a few concurrencies bounds what any worker can do:
	// pipeline ÷ ceiling can be at most best ÷ ceiling.
	best, bestAt, sweepErr := ledgerRate, inFlight, ledgerErr
	counts := []int{inFlight}
	for _, n := range ledgerSweep {
		if n == inFlight || sweepErr != nil {
			continue
		}
		counts = append(counts, n)
		r.cfg.Progress.Info("pipeline: raw conditional-write loop on the ledger store", "writes", ledgerWrites, "in_flight", n)
		rate, err := r.ledgerLoop(ctx, events[:min(ledgerWrites, len(events))], n)
		if err != nil {
			sweepErr = err
			break
		}
		if rate > best {
			best, bestAt = rate, n
		}
	}
	slices.Sort(counts)
	names := make([]string, len(counts))
	for i, n := range counts {
		names[i] = strconv.Itoa(n)
	}
	bestWhat := "ledger store: best of " + strings.Join(names, ", ") + " in flight"
	if sweepErr != nil {
		t.fail(sec, bestWhat, "", sweepErr)
	} else {
		t.add(row{section: sec, what: bestWhat, figure: perSecond(best, "writes/s"),
			note: fmt.Sprintf("best at %d in flight; every applied event costs one conditional write, so no worker can beat this rate", bestAt)})
		t.add(row{section: sec, what: "ledger store best ÷ ceiling", figure: fmt.Sprintf("%.0f%%", 100*best/ceiling),
			note: "the most pipeline ÷ ceiling can reach on this stack"})
	}
	if err != nil {
		t.fail(sec, "pipeline: Writer → stream → worker → ledger", "", err)
		t.fail(sec, "pipeline ÷ ceiling", target, err)
		return
	}
	t.add(row{section: sec, what: "pipeline: Writer → stream → worker → ledger", figure: perSecond(rate, "events/s"),
		note: fmt.Sprintf("no-op handler, %d shards, 1 worker, %d objects: %d applied (ledger read + conditional write each); writes done after %s",
			pipelineShards, len(events), applied, ms(wrote))})
	ratio := rate / ceiling
	note := "ceiling = the Kinesis loops (put + get)"
	if ledgerErr == nil {
		note += fmt.Sprintf("; pipeline ÷ ledger-store loop = %.0f%%", 100*rate/ledgerRate)
	}
	if sweepErr == nil {
		note += fmt.Sprintf(", ÷ ledger-store best = %.0f%%", 100*rate/best)
	}
	t.add(row{section: sec, what: "pipeline ÷ ceiling", figure: fmt.Sprintf("%.0f%%", 100*ratio), note: note})
}

// pipeline writes events with a forwarder.Writer to a fresh 2-shard stream that a worker with
// the no-op handler already reads, and returns events per second from the first write until the
// worker finished the last record, and when the writes were done.
func (r *runner) pipeline(ctx context.Context, events []envelope.Event) (rate float64, wrote time.Duration, applied int, err error) {
	res, err := r.create(ctx, "pipeline", pipelineShards, false, "")
	if err != nil {
		return 0, 0, 0, err
	}
	defer r.remove(res)
	w := r.startWorker(ctx, res, noop, workerOptions{})
	defer func() {
		if serr := w.stop(); serr != nil && err == nil {
			err = fmt.Errorf("worker stop: %w", serr)
		}
	}()
	if err := w.waitShards(ctx, pipelineShards, time.Minute); err != nil {
		return 0, 0, 0, err
	}
	writer, err := r.newWriter(res.stream)
	if err != nil {
		return 0, 0, 0, err
	}
	start := time.Now()
	if err := writeAll(ctx, writer, events); err != nil {
		return 0, 0, 0, err
	}
	wrote = time.Since(start)
	at, err := w.waitFinished(ctx, len(events), 3*time.Minute)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("%w (finished %d of %d)", err, w.finished(), len(events))
	}
	return float64(len(events)) / at.Sub(start).Seconds(), wrote, w.outcome(processor.OutcomeApplied), nil
}

// recordsOf encodes events as the forwarder writes them, forwarded at at, partitioned by their key.
func recordsOf(events []envelope.Event, at time.Time) ([]kintypes.PutRecordsRequestEntry, error) {
	entries := make([]kintypes.PutRecordsRequestEntry, len(events))
	for i, ev := range events {
		ev.ForwardedAt = at
		data, err := envelope.Encode(ev)
		if err != nil {
			return nil, err
		}
		entries[i] = kintypes.PutRecordsRequestEntry{Data: data, PartitionKey: aws.String(ev.PartitionKey())}
	}
	return entries, nil
}

// rawLoops puts the encoded events on a fresh stream with plain PutRecords calls (putBatch per
// call, putCallers in flight), then reads them back with a plain GetRecords loop per shard, and
// returns how long each half took.
func (r *runner) rawLoops(ctx context.Context, events []envelope.Event) (put, get time.Duration, err error) {
	kc := r.cfg.Clients.Kinesis
	if kc == nil {
		return 0, 0, errors.New("no local stack clients")
	}
	stream := uniqueName("ceiling")
	if err := setupRetrying(ctx, r.cfg.Progress, setup.Clients{Kinesis: kc}, setup.Config{StreamName: stream, Shards: pipelineShards}); err != nil {
		return 0, 0, err
	}
	defer r.remove(resources{stream: stream})

	entries, err := recordsOf(events, time.Now().UTC())
	if err != nil {
		return 0, 0, err
	}

	start := time.Now()
	perShard, err := putLoop(ctx, kc, stream, entries)
	if err != nil {
		return 0, 0, err
	}
	put = time.Since(start)

	start = time.Now()
	if err := getLoop(ctx, kc, stream, perShard); err != nil {
		return 0, 0, err
	}
	return put, time.Since(start), nil
}

// putLoop puts entries with PutRecords, re-sending refused records, and returns how many records
// went to each shard.
func putLoop(ctx context.Context, kc *kinesis.Client, stream string, entries []kintypes.PutRecordsRequestEntry) (map[string]int, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		perShard = map[string]int{}
		firstErr error
		wg       sync.WaitGroup
	)
	chunks := make(chan []kintypes.PutRecordsRequestEntry)
	for range putCallers {
		wg.Go(func() {
			for c := range chunks {
				for attempt := 1; len(c) > 0; attempt++ {
					out, err := kc.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(stream), Records: c})
					if err == nil && len(out.Records) != len(c) {
						err = fmt.Errorf("PutRecords: %d results for %d records", len(out.Records), len(c))
					}
					if err == nil && attempt >= 10 && aws.ToInt32(out.FailedRecordCount) > 0 {
						err = fmt.Errorf("PutRecords: %d records refused 10 times", aws.ToInt32(out.FailedRecordCount))
					}
					if err != nil {
						mu.Lock()
						firstErr = cmpOr(firstErr, err)
						mu.Unlock()
						cancel()
						return
					}
					var again []kintypes.PutRecordsRequestEntry
					mu.Lock()
					for i, res := range out.Records {
						if res.ErrorCode != nil {
							again = append(again, c[i])
							continue
						}
						perShard[aws.ToString(res.ShardId)]++
					}
					mu.Unlock()
					if c = again; len(c) > 0 {
						select { // refused (throttled): a short pause, as any client would
						case <-time.After(50 * time.Millisecond):
						case <-ctx.Done():
							return
						}
					}
				}
			}
		})
	}
feed:
	for i := 0; i < len(entries); i += putBatch {
		select {
		case chunks <- entries[i:min(i+putBatch, len(entries))]:
		case <-ctx.Done():
			break feed
		}
	}
	close(chunks)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	return perShard, cmpOr(firstErr, ctx.Err())
}

// getLoop reads every shard from TRIM_HORIZON with back-to-back GetRecords calls until it has
// read the number of records perShard names.
func getLoop(ctx context.Context, kc *kinesis.Client, stream string, perShard map[string]int) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	for shard, want := range perShard {
		wg.Go(func() {
			err := readShard(ctx, kc, stream, shard, want)
			mu.Lock()
			firstErr = cmpOr(firstErr, err)
			mu.Unlock()
		})
	}
	wg.Wait()
	return firstErr
}

func readShard(ctx context.Context, kc *kinesis.Client, stream, shard string, want int) error {
	it, err := kc.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String(stream), ShardId: aws.String(shard),
		ShardIteratorType: kintypes.ShardIteratorTypeTrimHorizon})
	if err != nil {
		return fmt.Errorf("GetShardIterator %s: %w", shard, err)
	}
	iter := it.ShardIterator
	for got := 0; got < want; {
		out, err := kc.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter, Limit: aws.Int32(getLimit)})
		if err != nil {
			return fmt.Errorf("GetRecords %s after %d of %d records: %w", shard, got, want, err)
		}
		got += len(out.Records)
		if iter = out.NextShardIterator; iter == nil {
			return fmt.Errorf("shard %s closed after %d of %d records", shard, got, want)
		}
	}
	return nil
}

// cmpOr returns a unless it is nil, then b.
func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// ledgerLoop commits one ledger entry per event to a fresh ledger table with inFlight calls at
// once, the way a worker commits applied events, and returns writes per second.
func (r *runner) ledgerLoop(ctx context.Context, events []envelope.Event, inFlight int) (float64, error) {
	db := r.cfg.Clients.DynamoDB
	if db == nil {
		return 0, errors.New("no local stack clients")
	}
	table := uniqueName("ledger")
	if err := setupRetrying(ctx, r.cfg.Progress, setup.Clients{DynamoDB: db}, setup.Config{LedgerTable: table}); err != nil {
		return 0, err
	}
	defer r.remove(resources{ledger: table})
	led, err := ledger.New(db, table)
	if err != nil {
		return 0, err
	}
	var g errgroup.Group
	g.SetLimit(inFlight)
	start := time.Now()
	for _, ev := range events {
		g.Go(func() error {
			return led.Commit(ctx, ledger.Entry{Object: ev.ObjectID(), Sequencer: ev.Sequencer, Op: ev.Op,
				Outcome: ledger.OutcomeApplied, EventID: ev.ID, SourceETag: ev.ETag, Worker: "bench", Shard: "shardId-000000000000"})
		})
	}
	if err := g.Wait(); err != nil {
		return 0, err
	}
	return float64(len(events)) / time.Since(start).Seconds(), nil
}
