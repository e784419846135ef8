package forwarder

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/shardline/shardline/internal/awsretry"
	"github.com/shardline/shardline/internal/envelope"
)

// Kinesis is the part of the Kinesis API the Writer uses; *kinesis.Client implements it.
type Kinesis interface {
	PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, optFns ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error)
}

// Writer puts events on a Kinesis stream, one record each, and returns only when all of them are
// in or it has given up. It is safe for concurrent use, and concurrent Writes share PutRecords
// calls (see MaxCallsInFlight); it has no goroutine of its own and needs no Close.
type Writer struct {
	cfg     WriterConfig
	metrics *writerMetrics
	reach   reach // PutRecords outcomes, for Health
	calls   *combiner
}

// NewWriter validates cfg and registers the Writer's metrics.
func NewWriter(cfg WriterConfig) (*Writer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	m, err := newWriterMetrics(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("forwarder writer metrics: %w", err)
	}
	w := &Writer{cfg: cfg, metrics: m}
	w.calls = &combiner{
		send:        w.put,
		maxInFlight: cfg.MaxCallsInFlight,
		maxPending:  cfg.MaxPendingRecords,
		observe:     func(n int) { m.callRecords.Observe(float64(n)) },
	}
	return w, nil
}

// Write stamps ForwardedAt on (copies of) events, encodes them and puts them on the stream with
// each event's partition key. It returns nil only when Kinesis has accepted every record.
//
// Records Kinesis refuses, and whole calls that are throttled or fail on the server side, are
// retried with jittered exponential backoff (only the refused records are re-sent) until they
// are in, MaxAttempts calls were made for a batch, the Deadline passed or ctx ended; then Write
// returns a *NotForwardedError with the number of records that did not get in. An event that is
// invalid (errors.Is(err, envelope.ErrInvalid)) or too large (*OversizeError) fails the whole
// call before anything is sent. A call error that retrying cannot fix (awsretry.Retryable) or a
// record refused with a code that retrying cannot fix (awsretry.RecordRetryable: a KMS key or
// permission problem) ends the Write at once. When the Writer's backlog is full (MaxPendingRecords), Write
// returns at once a *NotForwardedError wrapping ErrBacklogFull.
//
// The records of concurrent Writes travel in shared PutRecords calls; each Write still returns
// as soon as its own records are in (or it gave up on them), retries only its own refused
// records and keeps its own Deadline, so one Write's failure does not fail another.
//
// Re-sent records keep their relative order, but PutRecords itself does not keep order across a
// partial failure; the worker orders the events of a key by sequencer, so stream order is not
// needed for correctness. A record may be in the stream twice (a call that timed out after
// Kinesis accepted it); its envelope ID makes the duplicate harmless.
func (w *Writer) Write(ctx context.Context, events []envelope.Event) error {
	if len(events) == 0 {
		return nil
	}
	now := w.cfg.Now().UTC()
	records := make([]record, 0, len(events))
	for _, ev := range events {
		ev.ForwardedAt = now
		r, err := newRecord(ev)
		if err != nil {
			return fmt.Errorf("forward event %s (%s): %w", ev.ID, ev.ObjectID(), err)
		}
		records = append(records, r)
	}

	_, err := w.write(ctx, now, records)
	return err
}

// Record is a record put as it is, not an event to encode: redrive puts dead-lettered records
// back byte for byte, with their original partition key.
type Record struct {
	Data         []byte
	PartitionKey string
}

// PutRecords puts records as they are, with everything Write does (batches within the request
// limits, retries of only the refused records with backoff, fail-fast on errors retrying cannot
// fix, the Deadline, calls shared with concurrent Writes), and returns nil when Kinesis has
// accepted every record. Otherwise it returns a *NotForwardedError and notIn, the indexes of the
// records that are not in, in order; every other record is in. A record over MaxRecordBytes
// fails the whole call with an *OversizeError before anything is sent.
func (w *Writer) PutRecords(ctx context.Context, records []Record) (notIn []int, err error) {
	if len(records) == 0 {
		return nil, nil
	}
	rs := make([]record, len(records))
	for i, r := range records {
		rs[i] = record{entry: types.PutRecordsRequestEntry{Data: r.Data, PartitionKey: aws.String(r.PartitionKey)}, size: len(r.Data) + len(r.PartitionKey)}
		if rs[i].size > MaxRecordBytes {
			return nil, &OversizeError{ObjectID: r.PartitionKey, Size: rs[i].size, Limit: MaxRecordBytes}
		}
	}
	return w.write(ctx, w.cfg.Now().UTC(), rs)
}

// write puts records, in batches that each fit one call, and returns nil once all of them are
// in. When it gives up it returns the indexes (into records, in order) of those that are not in
// with a *NotForwardedError; the rest are in.
func (w *Writer) write(ctx context.Context, now time.Time, records []record) ([]int, error) {
	deadline := now.Add(w.cfg.Deadline)
	ctx, cancel := context.WithTimeout(ctx, w.cfg.Deadline)
	defer cancel()

	start := 0
	for _, batch := range batches(records) {
		left, err := w.putBatch(ctx, deadline, batch)
		if err == nil {
			start += len(batch)
			continue
		}
		notIn := make([]int, 0, len(left)+len(records)-start-len(batch))
		for _, i := range left {
			notIn = append(notIn, start+i)
		}
		for i := start + len(batch); i < len(records); i++ {
			notIn = append(notIn, i)
		}
		w.giveUp(ctx, records, notIn, err)
		return notIn, &NotForwardedError{Failed: len(notIn), Total: len(records), Err: err}
	}
	return nil, nil
}

// giveUp counts and logs the records (indexes into records) that did not get in.
func (w *Writer) giveUp(ctx context.Context, records []record, notIn []int, err error) {
	w.metrics.failed.Add(float64(len(notIn)))
	for _, i := range notIn {
		r := records[i]
		if r.ev.ID == "" { // put as it is (PutRecords): the partition key is all we know
			w.cfg.Logger.LogAttrs(ctx, slog.LevelError, "record not forwarded",
				slog.String("partitionKey", aws.ToString(r.entry.PartitionKey)))
			continue
		}
		w.cfg.Logger.LogAttrs(ctx, slog.LevelError, "record not forwarded",
			slog.String("bucket", r.ev.Bucket), slog.String("key", r.ev.Key),
			slog.String("sequencer", r.ev.Sequencer), slog.String("id", r.ev.ID))
	}
	w.cfg.Logger.LogAttrs(ctx, slog.LevelError, "giving up on PutRecords",
		slog.Int("failed", len(notIn)), slog.Int("total", len(records)), slog.Any("error", err))
}

// putBatch puts one batch, re-sending refused records, and returns the indexes (into batch) of
// the records that are still not in together with the reason when it gives up: at once on an
// error that retrying cannot fix (a call error that is not retryable, or a record refused with a
// code that is not awsretry.RecordRetryable), else after MaxAttempts calls or at the deadline.
func (w *Writer) putBatch(ctx context.Context, deadline time.Time, batch []record) ([]int, error) {
	pending, pos := batch, make([]int, len(batch)) // pos[k] is the index in batch of pending[k]
	for i := range pos {
		pos[i] = i
	}
	for attempt := 1; ; attempt++ {
		failed, err := w.calls.put(ctx, pending)
		if err != nil && !retryable(err) {
			return pos, fmt.Errorf("not retried: %w", err)
		}
		if err == nil && len(failed) == 0 {
			return nil, nil
		}
		if err == nil {
			pending, pos = refused(failed, pos)
			if perr := permanent(failed); perr != nil {
				return pos, fmt.Errorf("record refused, not retried: %w", perr)
			}
			err = failed[0].err
		}
		if attempt >= w.cfg.MaxAttempts {
			return pos, fmt.Errorf("%d PutRecords attempts: %w", attempt, err)
		}
		wait := awsretry.Backoff(w.cfg.BackoffBase, w.cfg.BackoffMax, attempt)
		if w.cfg.Now().Add(wait).After(deadline) {
			return pos, fmt.Errorf("deadline of %s reached after %d PutRecords attempts: %w", w.cfg.Deadline, attempt, err)
		}
		w.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "retrying PutRecords",
			slog.Int("records", len(pending)), slog.Int("attempt", attempt),
			slog.Duration("backoff", wait), slog.Any("error", err))
		if serr := w.cfg.Sleep(ctx, wait); serr != nil {
			return pos, fmt.Errorf("waiting to retry PutRecords: %w (last error: %w)", serr, err)
		}
		w.metrics.retries.Add(float64(len(pending)))
	}
}

// failure is a record Kinesis refused, with its reason and its index in the call.
type failure struct {
	record
	index int
	err   error
}

// refused returns the refused records of a call and their indexes in the batch, given the
// batch indexes (pos) of the records the call carried.
func refused(fs []failure, pos []int) ([]record, []int) {
	records, at := make([]record, len(fs)), make([]int, len(fs))
	for i, f := range fs {
		records[i], at[i] = f.record, pos[f.index]
	}
	return records, at
}

// permanent returns the error of the first refused record that sending again cannot fix (its
// code is not awsretry.RecordRetryable: a KMS key or permission problem), or nil.
func permanent(fs []failure) error {
	for _, f := range fs {
		if re, ok := errors.AsType[*RecordError](f.err); ok && !awsretry.RecordRetryable(re.Code) {
			return f.err
		}
	}
	return nil
}

// put makes one PutRecords call and returns the records Kinesis refused, in request order. A
// non-nil error means the call as a whole failed and none of the records is known to be in.
func (w *Writer) put(ctx context.Context, records []record) ([]failure, error) {
	in := &kinesis.PutRecordsInput{Records: make([]types.PutRecordsRequestEntry, len(records))}
	if w.cfg.StreamName != "" {
		in.StreamName = aws.String(w.cfg.StreamName)
	}
	if w.cfg.StreamARN != "" {
		in.StreamARN = aws.String(w.cfg.StreamARN)
	}
	for i, r := range records {
		in.Records[i] = r.entry
	}
	out, err := w.cfg.Client.PutRecords(ctx, in)
	if err != nil {
		w.metrics.calls.WithLabelValues(callError).Inc()
		if !errors.Is(context.Cause(ctx), context.Canceled) { // not every caller going away: Kinesis failed or did not answer in time
			w.reach.failed(w.cfg.Now(), fmt.Errorf("PutRecords: %w", err))
		}
		return nil, fmt.Errorf("PutRecords: %w", err)
	}
	w.reach.succeeded(w.cfg.Now())
	if len(out.Records) != len(records) {
		// The response cannot be matched to the request; treat every record as refused. Re-sending
		// one that did get in only makes a duplicate, which the envelope ID absorbs.
		w.metrics.calls.WithLabelValues(callError).Inc()
		return nil, fmt.Errorf("PutRecords: %d results for %d records", len(out.Records), len(records))
	}
	var failed []failure
	for i, res := range out.Records {
		if code := aws.ToString(res.ErrorCode); code != "" {
			failed = append(failed, failure{record: records[i], index: i, err: &RecordError{Code: code, Message: aws.ToString(res.ErrorMessage)}})
		}
	}
	if len(failed) == 0 && aws.ToInt32(out.FailedRecordCount) > 0 {
		// FailedRecordCount says some failed but no record says which: resend them all.
		w.metrics.calls.WithLabelValues(callError).Inc()
		return nil, fmt.Errorf("PutRecords: FailedRecordCount %d but no failed record", aws.ToInt32(out.FailedRecordCount))
	}
	w.metrics.forwarded.Add(float64(len(records) - len(failed)))
	if len(failed) == 0 {
		w.metrics.calls.WithLabelValues(callOK).Inc()
	} else {
		w.metrics.calls.WithLabelValues(callPartial).Inc()
	}
	return failed, nil
}
