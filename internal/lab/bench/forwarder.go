package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/shardline/shardline/internal/forwarder"
	"github.com/shardline/shardline/internal/setup"
)

const (
	// forwarderAttack is how long each forwarder row offers its load.
	forwarderAttack = 5 * time.Second
	// forwarderBucket is the bucket of the notifications the forwarder rows post.
	forwarderBucket = "bench-forwarder"
)

// forwarderClients are the numbers of concurrent webhook clients of the forwarder rows.
var forwarderClients = []int{1, 8, 64}

// forwarderMode is one Writer configuration the forwarder rows measure.
type forwarderMode struct {
	name     string
	inFlight int // WriterConfig.MaxCallsInFlight
	note     string
}

var forwarderModes = []forwarderMode{
	{"own call per request", 1 << 30, "calls in flight unbounded: every request makes its own PutRecords call, as before shared calls"},
	{"shared, 1 call in flight", 1, "requests that arrive while the call is in flight ride together in the next"},
	{"shared, 2 calls in flight", 2, "as above with two calls at once"},
}

// isDefault reports whether m is the forwarder's default configuration, the one the targets are for.
func (m forwarderMode) isDefault() bool { return m.inFlight == forwarder.DefaultMaxCallsInFlight }

// forwarderSection measures the webhook under one-event requests (what MinIO and S3-compatible
// stores send): a forwarder in this process on a free port, on a fresh stream of the local
// stack, loaded by vegeta with 1, 8 and 64 concurrent clients posting one notification each,
// next to the PutRecords loop of the pipeline's ceiling on the same stream.
func (r *runner) forwarderSection(ctx context.Context, t *table) {
	const sec = SectionForwarder
	kc := r.cfg.Clients.Kinesis
	if kc == nil {
		t.fail(sec, "ceiling: PutRecords loop", "", errors.New("no local stack clients"))
		return
	}
	stream := uniqueName("forwarder")
	if err := setupRetrying(ctx, r.cfg.Progress, setup.Clients{Kinesis: kc}, setup.Config{StreamName: stream, Shards: pipelineShards}); err != nil {
		t.fail(sec, "ceiling: PutRecords loop", "", err)
		return
	}
	defer r.remove(resources{stream: stream})

	// The ceiling is measured before and after the forwarder rows; the better counts, so the
	// ratio is not flattered by a slow moment of the machine.
	ceilingOnce := func() (float64, error) {
		events, err := distinctKeyEvents(forwarderBucket, "ceiling", pipelineEvents)
		if err != nil {
			return 0, err
		}
		entries, err := recordsOf(events, time.Now().UTC())
		if err != nil {
			return 0, err
		}
		r.cfg.Progress.Info("forwarder: PutRecords loop (ceiling)", "records", len(entries))
		start := time.Now()
		if _, err := putLoop(ctx, kc, stream, entries); err != nil {
			return 0, err
		}
		return float64(len(entries)) / time.Since(start).Seconds(), nil
	}
	before, errBefore := ceilingOnce()

	type result struct {
		m      *vegeta.Metrics
		calls  float64 // mean records per PutRecords call
		status string  // non-200 answers, "" when none
	}
	// The modes take turns at each load, so that a change of the machine's other load during the
	// run does not favour one of them.
	results := map[string]map[int]result{}
	for _, mode := range forwarderModes {
		results[mode.name] = map[int]result{}
	}
	for _, c := range forwarderClients {
		for _, mode := range forwarderModes {
			r.cfg.Progress.Info("forwarder: one-event requests", "mode", mode.name, "clients", c, "for", forwarderAttack)
			m, perCall, err := r.forwarderRun(ctx, stream, mode, c)
			what := fmt.Sprintf("%s, %d client%s", mode.name, c, plural(c))
			if err != nil {
				t.fail(sec, what, "", err)
				continue
			}
			results[mode.name][c] = result{m: m, calls: perCall, status: failures(m)}
		}
	}

	after, errAfter := ceilingOnce()
	ceiling := max(before, after)
	if ceiling == 0 {
		t.fail(sec, "ceiling: PutRecords loop", "", cmpOr(errBefore, errAfter))
	} else {
		t.add(row{section: sec, what: "ceiling: PutRecords loop", figure: perSecond(ceiling, "records/s"),
			note: fmt.Sprintf("%d records, %d per call, %d calls in flight; better of before (%.0f/s) and after (%.0f/s) the rows below",
				pipelineEvents, putBatch, putCallers, before, after)})
	}
	for _, mode := range forwarderModes {
		for _, c := range forwarderClients {
			res, ok := results[mode.name][c]
			if !ok {
				continue
			}
			m := res.m
			rate := m.Throughput
			rw := row{section: sec, what: fmt.Sprintf("%s, %d client%s", mode.name, c, plural(c)),
				figure: fmt.Sprintf("%s · p50 %s · p99 %s", perSecond(rate, "req/s"), msFrac(m.Latencies.P50), msFrac(m.Latencies.P99))}
			notes := []string{fmt.Sprintf("%.1f records per PutRecords call", res.calls)}
			if ceiling > 0 {
				notes = append(notes, fmt.Sprintf("%.0f%% of ceiling", 100*rate/ceiling))
			}
			if res.status != "" {
				notes = append(notes, "not 200: "+res.status)
			}
			if mode.isDefault() {
				switch c {
				case 8:
					rw.target, rw.met = "p99 ≤ 50 ms", yesNo(res.status == "" && m.Latencies.P99 <= 50*time.Millisecond)
				case 64:
					rw.target, rw.met = "≥ 70% of ceiling", yesNo(res.status == "" && ceiling > 0 && rate >= 0.7*ceiling)
				}
			}
			if c == forwarderClients[0] {
				if mode.isDefault() {
					notes = append(notes, "the default")
				}
				notes = append(notes, mode.note)
			}
			rw.note = strings.Join(notes, "; ")
			t.add(rw)
		}
	}
}

// forwarderRun serves a forwarder (Writer in mode) on a free port of 127.0.0.1 and lets clients
// concurrent vegeta workers post one-event notifications to it, each as soon as the previous
// answer came, for forwarderAttack. It returns vegeta's metrics and the mean records per call.
func (r *runner) forwarderRun(ctx context.Context, stream string, mode forwarderMode, clients int) (*vegeta.Metrics, float64, error) {
	reg := prometheus.NewRegistry()
	w, err := forwarder.NewWriter(forwarder.WriterConfig{
		Client: r.cfg.Clients.Kinesis, StreamName: stream, MaxCallsInFlight: mode.inFlight, Registerer: reg, Logger: r.cfg.Logs,
	})
	if err != nil {
		return nil, 0, err
	}
	token := randomHex(16)
	f, err := forwarder.New(forwarder.Config{Writer: w, Token: token, Registerer: reg, Logger: r.cfg.Logs})
	if err != nil {
		return nil, 0, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, 0, err
	}
	srv := &http.Server{Handler: f.Webhook(), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		<-served
	}()

	url := "http://" + ln.Addr().String() + "/webhook"
	header := http.Header{"Authorization": {"Bearer " + token}, "Content-Type": {"application/json"}}
	run := randomHex(4)
	var seq atomic.Uint64
	base := uint64(time.Now().UnixNano())
	targeter := func(tgt *vegeta.Target) error {
		n := seq.Add(1)
		tgt.Method, tgt.URL, tgt.Header = http.MethodPost, url, header
		tgt.Body = minioPut(forwarderBucket, fmt.Sprintf("%s/%d/%08d.jpg", run, clients, n), base+n)
		return nil
	}
	atk := vegeta.NewAttacker(vegeta.Workers(uint64(clients)), vegeta.MaxWorkers(uint64(clients)),
		vegeta.Connections(clients), vegeta.Timeout(time.Minute), vegeta.KeepAlive(true))
	var m vegeta.Metrics
	results := atk.Attack(targeter, vegeta.Rate{Freq: 0}, forwarderAttack, "forwarder")
	stop := context.AfterFunc(ctx, func() { atk.Stop() })
	for res := range results {
		m.Add(res)
	}
	stop()
	m.Close()
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	if m.Requests == 0 {
		return nil, 0, errors.New("no request made")
	}
	return &m, meanCallRecords(reg), nil
}

// minioPut is the body MinIO's webhook target posts for one PUT of bucket/key.
func minioPut(bucket, key string, seq uint64) []byte {
	return fmt.Appendf(nil, `{"EventName":"s3:ObjectCreated:Put","Key":"%[1]s/%[2]s","Records":[{"eventVersion":"2.0",`+
		`"eventSource":"minio:s3","awsRegion":"","eventTime":"%[3]s","eventName":"s3:ObjectCreated:Put",`+
		`"userIdentity":{"principalId":"minioadmin"},"requestParameters":{"principalId":"minioadmin","region":"","sourceIPAddress":"127.0.0.1"},`+
		`"responseElements":{"x-amz-id-2":"dd9025bab4ad464b049177c95eb6ebf374d3b3fd1af9251148b658df7ac2e3e8","x-amz-request-id":"17D2B5F3A1C0E9B4",`+
		`"x-minio-deployment-id":"6c2bb2c4-8b5e-4c67-a1f1-0f9d3c5d2a10","x-minio-origin-endpoint":"http://127.0.0.1:9000"},`+
		`"s3":{"s3SchemaVersion":"1.0","configurationId":"Config","bucket":{"name":"%[1]s","ownerIdentity":{"principalId":"minioadmin"},"arn":"arn:aws:s3:::%[1]s"},`+
		`"object":{"key":"%[2]s","size":1024,"eTag":"d41d8cd98f00b204e9800998ecf8427e","contentType":"image/jpeg",`+
		`"userMetadata":{"content-type":"image/jpeg"},"sequencer":"%016[4]X"}},`+
		`"source":{"host":"127.0.0.1","port":"","userAgent":"MinIO (linux; amd64) minio-go/v7.0.70"}}]}`,
		bucket, key, time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), seq)
}

// meanCallRecords is the mean of the forwarder's put_records_call_records histogram.
func meanCallRecords(reg *prometheus.Registry) float64 {
	mfs, err := reg.Gather()
	if err != nil {
		return 0
	}
	for _, mf := range mfs {
		if mf.GetName() == "shardline_forwarder_put_records_call_records" && len(mf.GetMetric()) > 0 {
			h := mf.GetMetric()[0].GetHistogram()
			if h.GetSampleCount() > 0 {
				return h.GetSampleSum() / float64(h.GetSampleCount())
			}
		}
	}
	return 0
}

// failures lists the answers other than 200 by status code ("0" is a transport error), or "".
func failures(m *vegeta.Metrics) string {
	var parts []string
	for code, n := range m.StatusCodes {
		if code != "200" {
			parts = append(parts, fmt.Sprintf("%d × %s", n, code))
		}
	}
	sort.Strings(parts)
	if len(parts) > 0 && len(m.Errors) > 0 {
		parts = append(parts, "e.g. "+m.Errors[0])
	}
	return strings.Join(parts, ", ")
}

// msFrac renders a short latency in milliseconds with one decimal.
func msFrac(d time.Duration) string {
	if d >= time.Second {
		return ms(d)
	}
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
