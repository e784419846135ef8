package processor

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	kcl "github.com/vmware/vmware-go-kcl-v2/clientlibrary/interfaces"

	"github.com/shardline/shardline/internal/envelope"
	"github.com/shardline/shardline/internal/ledger"
)

// benchBatch is the number of records of one ProcessRecords call in BenchmarkRecordPath: a
// shard read at its write limit (1,000 records/s) at five GetRecords calls a second.
const benchBatch = 200

// BenchmarkRecordPath is the regression guard of the per-record path: decode → coalesce →
// ledger read (batched) → ledger decision → no-op handler → ledger commit, through
// ProcessRecords with the worker's defaults, reported per record (ns/op, B/op and allocs/op are
// per record). Two ledgers:
//
//   - fake: in memory, every object has an older entry (so every event applies): the
//     processor's own cost;
//   - sdk: the real ledger.Ledger on a real dynamodb.Client whose HTTP transport answers
//     BatchGetItem and PutItem from memory: adds the SDK's serialisation, SigV4 signing and
//     response parsing per record, as the worker pays them (no network).
func BenchmarkRecordPath(b *testing.B) {
	for _, tc := range []struct {
		name   string
		ledger func(b *testing.B) ledgerStore
	}{
		{"fake", func(*testing.B) ledgerStore { return benchLedger{} }},
		{"sdk", sdkLedger},
	} {
		b.Run(tc.name, func(b *testing.B) {
			batches := benchBatches(b, 8)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			f, err := newFactory(ctx, recordConfig{
				Handler: HandlerFunc(func(context.Context, Event) error { return nil }),
				Ledger:  tc.ledger(b), DeadLetters: &fakeDeadLetters{}, Leases: &fakeLeases{}, WorkerID: testWorker,
				Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)),
			})
			if err != nil {
				b.Fatal(err)
			}
			p := f.CreateProcessor()
			p.Initialize(&kcl.InitializationInput{ShardId: testShard,
				ExtendedSequenceNumber: &kcl.ExtendedSequenceNumber{SequenceNumber: aws.String("TRIM_HORIZON")}})
			cp := &countingCheckpointer{}
			b.ReportAllocs()
			b.ResetTimer()
			for done, i := 0, 0; done < b.N; i++ {
				recs := batches[i%len(batches)]
				recs = recs[:min(len(recs), b.N-done)]
				p.ProcessRecords(&kcl.ProcessRecordsInput{Records: recs, Checkpointer: cp})
				done += len(recs)
			}
			b.StopTimer()
			if cp.n.Load() == 0 {
				b.Fatal("nothing checkpointed")
			}
		})
	}
}

// benchBatches encodes n batches of benchBatch put events of distinct objects.
func benchBatches(b *testing.B, n int) [][]types.Record {
	b.Helper()
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	out := make([][]types.Record, n)
	seq := 0
	for i := range out {
		out[i] = make([]types.Record, benchBatch)
		for j := range out[i] {
			seq++
			key := fmt.Sprintf("photos/2026/%07d.jpg", seq)
			ev, err := envelope.New("aws:s3", "ObjectCreated:Put", testBucket, key, envelope.OpPut,
				fmt.Sprintf("0066%014X", seq), "d41d8cd98f00b204e9800998ecf8427e", "", 1024, at)
			if err != nil {
				b.Fatal(err)
			}
			ev.ForwardedAt = at
			data, err := envelope.Encode(ev)
			if err != nil {
				b.Fatal(err)
			}
			out[i][j] = types.Record{Data: data, SequenceNumber: aws.String(seqNo(seq)), PartitionKey: aws.String(ev.PartitionKey()),
				ApproximateArrivalTimestamp: aws.Time(at)}
		}
	}
	return out
}

// benchLedger holds, for every object, an entry older than any event of the benchmark.
type benchLedger struct{}

var benchOlder = ledger.Entry{Sequencer: "0000", Outcome: ledger.OutcomeApplied}

func (benchLedger) Get(context.Context, string) (ledger.Entry, bool, error) {
	return benchOlder, true, nil
}
func (benchLedger) Commit(context.Context, ledger.Entry) error { return nil }
func (benchLedger) Epoch(context.Context) (int64, error)       { return 0, nil }
func (benchLedger) BatchGet(_ context.Context, objects []string) (map[string]ledger.Entry, error) {
	out := make(map[string]ledger.Entry, len(objects))
	for _, o := range objects {
		e := benchOlder
		e.Object = o
		out[o] = e
	}
	return out, nil
}

// sdkLedger is a ledger.Ledger on a dynamodb.Client whose transport answers from memory.
func sdkLedger(b *testing.B) ledgerStore {
	db := dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String("http://dynamodb.bench.invalid"),
		Credentials:  aws.NewCredentialsCache(staticCreds{}),
		HTTPClient:   &http.Client{Transport: cannedDynamoDB{}},
	})
	l, err := ledger.New(db, "bench-ledger")
	if err != nil {
		b.Fatal(err)
	}
	return l
}

type staticCreds struct{}

func (staticCreds) Retrieve(context.Context) (aws.Credentials, error) {
	return aws.Credentials{AccessKeyID: "AKIDBENCH", SecretAccessKey: "secret", Source: "bench"}, nil
}

// cannedDynamoDB answers every BatchGetItem with no items (every object is new) and every other
// call (PutItem, GetItem of the epoch) with an empty object.
type cannedDynamoDB struct{}

func (cannedDynamoDB) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		_ = r.Body.Close()
	}
	body := "{}"
	if strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".BatchGetItem") {
		body = `{"Responses":{"bench-ledger":[]},"UnprocessedKeys":{}}`
	}
	return &http.Response{
		StatusCode: http.StatusOK, Status: "200 OK", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"Content-Type": {"application/x-amz-json-1.0"}},
		Body:          io.NopCloser(bytes.NewReader([]byte(body))),
		ContentLength: int64(len(body)), Request: r,
	}, nil
}

// countingCheckpointer accepts every checkpoint.
type countingCheckpointer struct{ n atomic.Int64 }

func (c *countingCheckpointer) Checkpoint(*string) error {
	c.n.Add(1)
	return nil
}

func (c *countingCheckpointer) PrepareCheckpoint(*string) (kcl.IPreparedCheckpointer, error) {
	return nil, fmt.Errorf("not supported")
}
