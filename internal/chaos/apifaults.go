package chaos

import (
	"context"
	"fmt"
	"log/slog"
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

// apiFaults are the running proxies, one per service.
type apiFaults struct {
	proxies []*apifault.Proxy
	stop    context.CancelFunc
	wg      sync.WaitGroup
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
	a := &apiFaults{stop: stop}
	var env []string
	for i, s := range apiServices {
		up := os.Getenv("AWS_ENDPOINT_URL_" + s.env)
		if up == "" {
			a.close()
			return nil, nil, fmt.Errorf("API faults need the stack's endpoints: AWS_ENDPOINT_URL_%s is not set (or run with -no-api-faults)", s.env)
		}
		def, ops, lat := DefaultAPIFaults(s.svc)
		p, err := apifault.New(apifault.Config{
			Service: s.svc, Upstream: up, Seed: uint64(seed)*4 + uint64(i), Default: def, Ops: ops, Latency: lat,
			Logger: log.With(slog.String("proxy", string(s.svc))),
		})
		if err != nil {
			a.close()
			return nil, nil, err
		}
		a.proxies = append(a.proxies, p)
		env = append(env, "AWS_ENDPOINT_URL_"+s.env+"="+p.URL())
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			if err := p.Run(ctx); err != nil {
				log.Warn("chaos: API fault proxy stopped", slog.String("service", string(s.svc)), slog.String("error", err.Error()))
			}
		}()
	}
	return a, env, nil
}

// counts returns what every proxy injected (calls forwarded without a fault left out).
func (a *apiFaults) counts() []apifault.Count {
	if a == nil {
		return nil
	}
	var out []apifault.Count
	for _, p := range a.proxies {
		for _, c := range p.Counts() {
			if c.Kind != apifault.KindNone {
				out = append(out, c)
			}
		}
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
