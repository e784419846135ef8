package chaos

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/shardline/shardline/internal/lab/apifault"
)

// DefaultAPIFaults are the AWS API fault proxies' settings of a chaos run, per service: a few
// percent of the calls that carry the guarantee (ledger and lease writes, PutRecords and
// GetRecords, object reads and writes) are throttled, fail with a 500, are reset before they
// reach the server or lose their response after the server committed them; other calls are
// sometimes throttled; every call gets a little latency and one in a hundred a heavy tail.
func DefaultAPIFaults(svc apifault.Service) (defaults apifault.Rates, ops map[string]apifault.Rates, lat apifault.Latency) {
	write := apifault.Rates{Throttle: 0.02, ServerError: 0.01, Reset: 0.005, Lost: 0.01}
	read := apifault.Rates{Throttle: 0.02, ServerError: 0.01, Reset: 0.005, Lost: 0.005}
	other := apifault.Rates{Throttle: 0.01}
	lat = apifault.Latency{Base: time.Millisecond, Jitter: 4 * time.Millisecond, TailP: 0.01, TailMin: 25 * time.Millisecond, Max: 2 * time.Second}
	switch svc {
	case apifault.DynamoDB:
		// The ledger and the lease table: conditional writes, whose lost responses make the
		// retry fail its own condition.
		ops = map[string]apifault.Rates{"PutItem": write, "UpdateItem": write, "DeleteItem": write, "GetItem": read, "BatchGetItem": read, "Query": read}
	case apifault.Kinesis:
		ops = map[string]apifault.Rates{"PutRecords": write, "PutRecord": write, "GetRecords": read}
	case apifault.S3:
		ops = map[string]apifault.Rates{"GetObject": read, "HeadObject": read, "PutObject": write, "DeleteObject": write, "CopyObject": write}
		lat.Jitter, lat.TailMin = 8*time.Millisecond, 50*time.Millisecond
	}
	return other, ops, lat
}

// apiFaults are the running proxies: one per service shared by the forwarder and the workers,
// and one S3 proxy per worker process (workerS3), so the harness can tell which worker made a
// call and act on it.
type apiFaults struct {
	ctx  context.Context
	stop context.CancelFunc
	seed int64
	log  *slog.Logger
	s3   string // the stack's S3 endpoint
	ddb  string // the stack's DynamoDB endpoint
	wg   sync.WaitGroup

	mu      sync.Mutex
	proxies []*apifault.Proxy // every proxy ever started (their counts stay in the report)
}

// apiServices pairs each proxied service with the SDK's endpoint variable suffix.
var apiServices = []struct {
	svc apifault.Service
	env string
}{{apifault.S3, "S3"}, {apifault.Kinesis, "KINESIS"}, {apifault.DynamoDB, "DYNAMODB"}}

// startAPIFaults starts a proxy in front of each endpoint named by AWS_ENDPOINT_URL_<SERVICE>
// and returns them with the environment that sends a process through them. The proxies run
// until close.
func startAPIFaults(seed int64, log *slog.Logger) (*apiFaults, []string, error) {
	ctx, stop := context.WithCancel(context.Background())
	a := &apiFaults{ctx: ctx, stop: stop, seed: seed, log: log}
	var env []string
	for i, s := range apiServices {
		up := os.Getenv("AWS_ENDPOINT_URL_" + s.env)
		if up == "" {
			a.close()
			return nil, nil, fmt.Errorf("API faults need the stack's endpoints: AWS_ENDPOINT_URL_%s is not set (or run with -no-api-faults)", s.env)
		}
		switch s.svc {
		case apifault.S3:
			a.s3 = up
		case apifault.DynamoDB:
			a.ddb = up
		}
		p, err := a.start(s.svc, up, uint64(seed)*4+uint64(i), nil, nil)
		if err != nil {
			a.close()
			return nil, nil, err
		}
		env = append(env, "AWS_ENDPOINT_URL_"+s.env+"="+p.URL())
	}
	return a, env, nil
}

// start starts one proxy with the default fault rates of svc.
func (a *apiFaults) start(svc apifault.Service, upstream string, seed uint64, after, before func(string, *http.Request)) (*apifault.Proxy, error) {
	def, ops, lat := DefaultAPIFaults(svc)
	p, err := apifault.New(apifault.Config{
		Service: svc, Upstream: upstream, Seed: seed, Default: def, Ops: ops, Latency: lat,
		AfterForward: after, BeforeForward: before, Logger: a.log.With(slog.String("proxy", string(svc))),
	})
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	a.proxies = append(a.proxies, p)
	a.mu.Unlock()
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		if err := p.Run(a.ctx); err != nil {
			a.log.Warn("chaos: API fault proxy stopped", slog.String("service", string(svc)), slog.String("error", err.Error()))
		}
	}()
	return p, nil
}

// workerProxy starts the gen-th worker process's own proxy of svc (S3 or DynamoDB), seeded from
// the run's seed, svc and gen, with the given hooks, and returns the environment entry that sends
// the worker through it. The proxy runs until close (a killed worker's counts stay).
func (a *apiFaults) workerProxy(svc apifault.Service, gen int, after, before func(string, *http.Request)) (string, error) {
	up, env, salt := a.s3, "S3", uint64(0x5300)
	if svc == apifault.DynamoDB {
		up, env, salt = a.ddb, "DYNAMODB", 0x4400
	}
	p, err := a.start(svc, up, uint64(a.seed)<<20+salt+uint64(gen), after, before)
	if err != nil {
		return "", err
	}
	return "AWS_ENDPOINT_URL_" + env + "=" + p.URL(), nil
}

// writesTable tells whether the DynamoDB call r names table (it reads r's body and puts it back).
func writesTable(r *http.Request, table string) bool {
	b, err := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(b))
	return err == nil && bytes.Contains(b, []byte(`"TableName":"`+table+`"`))
}

// counts returns what every proxy injected (calls forwarded without a fault left out), summed
// per service, operation and kind.
func (a *apiFaults) counts() []apifault.Count {
	if a == nil {
		return nil
	}
	a.mu.Lock()
	proxies := append([]*apifault.Proxy(nil), a.proxies...)
	a.mu.Unlock()
	type k struct {
		svc  apifault.Service
		op   string
		kind apifault.Kind
	}
	sum := map[k]int64{}
	for _, p := range proxies {
		for _, c := range p.Counts() {
			if c.Kind != apifault.KindNone {
				sum[k{c.Service, c.Operation, c.Kind}] += c.N
			}
		}
	}
	var out []apifault.Count
	for x, n := range sum {
		out = append(out, apifault.Count{Service: x.svc, Operation: x.op, Kind: x.kind, N: n})
	}
	apifault.SortCounts(out)
	return out
}

// close stops the proxies and waits for them.
func (a *apiFaults) close() {
	if a == nil {
		return
	}
	a.stop()
	a.wg.Wait()
}
