package processor_test

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/shardline/shardline/internal/cli"
	"github.com/shardline/shardline/internal/grayscale"
	"github.com/shardline/shardline/internal/lab/emulators"
	"github.com/shardline/shardline/internal/lab/pipelinetest"
	"github.com/shardline/shardline/internal/lab/switchproxy"
	"github.com/shardline/shardline/internal/lab/testkit"
	"github.com/shardline/shardline/internal/telemetry"
	"github.com/shardline/shardline/processor"
)

// TestWorkMissingStreamExits: `shardline work` pointed at a stream that does not exist exits 1
// within seconds with a message naming the stream and the command that creates it, instead of
// logging "worker started" and an error every shard sync forever.
func TestWorkMissingStreamExits(t *testing.T) {
	p := pipelinetest.New(t, 1) // deleted when the test ends: kinesalite's shard limit is shared
	present, leases, ledgerT, dead := p.Stream, p.Leases, p.Ledger, p.DeadLetters
	missing := emulators.Name(t, "missing")
	for _, tc := range []struct {
		name string
		args []string
		say  []string
	}{
		{"missing stream", []string{"--stream", missing, "--lease-table", leases, "--ledger-table", ledgerT, "--dead-letter-table", dead},
			[]string{"stream " + missing + " does not exist", "shardline setup"}},
		{"missing lease table", []string{"--stream", present, "--lease-table", missing, "--ledger-table", ledgerT, "--dead-letter-table", dead},
			[]string{"lease table " + missing + " does not exist", "shardline setup"}},
		{"missing ledger table", []string{"--stream", present, "--lease-table", leases, "--ledger-table", missing, "--dead-letter-table", dead},
			[]string{"ledger table " + missing + " does not exist", "shardline setup"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			env := &cli.Env{Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }}
			args := append([]string{"work", "--output-bucket", "out", "--metrics-addr", "127.0.0.1:0", "--log-format", "text"}, tc.args...)
			start := time.Now()
			code := cli.Main(context.Background(), args, env)
			took := time.Since(start)
			if code != 1 {
				t.Fatalf("exit %d, want 1; stderr:\n%s", code, errOut.String())
			}
			if took > 10*time.Second {
				t.Errorf("took %s to fail", took)
			}
			for _, s := range tc.say {
				if !strings.Contains(errOut.String(), s) {
					t.Errorf("stderr does not say %q:\n%s", s, errOut.String())
				}
			}
			for _, s := range []string{"worker started", "stopped cleanly"} {
				if strings.Contains(errOut.String(), s) {
					t.Errorf("stderr says %q for a worker that never started:\n%s", s, errOut.String())
				}
			}
		})
	}
}

// TestWorkerHealthFollowsKinesis: a worker whose Kinesis becomes unreachable turns not ready
// within two shard sync intervals and not live within NotLiveAfter, and recovers when Kinesis
// returns.
func TestWorkerHealthFollowsKinesis(t *testing.T) {
	p := pipelinetest.New(t, 1)
	c := p.Clients
	stream, leases, ledgerT, dead, out := p.Stream, p.Leases, p.Ledger, p.DeadLetters, p.Output
	endpoint, err := url.Parse(os.Getenv("AWS_ENDPOINT_URL_KINESIS"))
	if err != nil || endpoint.Host == "" {
		t.Skipf("AWS_ENDPOINT_URL_KINESIS %q: the test needs the local stack's Kinesis address", os.Getenv("AWS_ENDPOINT_URL_KINESIS"))
	}
	proxy := switchproxy.New(t, endpoint.Host)
	kin := kinesis.NewFromConfig(c.Config, func(o *kinesis.Options) { o.BaseEndpoint = aws.String(proxy.URL()) })

	h, err := grayscale.New(grayscale.Config{Store: c.S3, OutputBucket: out})
	if err != nil {
		t.Fatal(err)
	}
	const (
		sync     = 300 * time.Millisecond
		notReady = 2 * sync
		notLive  = 3 * time.Second
		slack    = 500 * time.Millisecond // polling and scheduling
	)
	health := &processor.Health{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- processor.Run(ctx, processor.Config{
			Kinesis: kin, DynamoDB: c.DynamoDB, Handler: h, Region: c.Config.Region,
			StreamName: stream, LeaseTable: leases, LedgerTable: ledgerT, DeadLetterTable: dead,
			WorkerID: "health-test", LeaseDuration: 3 * time.Second, ShardSyncInterval: sync,
			IdleBetweenReads: 100 * time.Millisecond, StopTimeout: 10 * time.Second,
			NotReadyAfter: notReady, NotLiveAfter: notLive, Health: health,
			Registerer: prometheus.NewRegistry(), Logger: quiet(),
		})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("worker: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("worker did not stop within 30s")
		}
	})
	var last telemetry.Status
	check := func(cond func(telemetry.Status) bool) func() bool {
		return func() bool {
			last = health.Health()
			return cond(last)
		}
	}
	testkit.Eventually(t, 30*time.Second, 20*time.Millisecond, check(func(s telemetry.Status) bool { return s.Ready && s.Live }),
		"worker not ready and live: %+v", &last)
	if held := last.Details["leasesHeld"]; held != 1 {
		t.Fatalf("ready holding %v leases, want the stream's one: %+v", held, last)
	}

	proxy.SetDown(true)
	down := time.Now()
	testkit.Eventually(t, notReady+slack, 10*time.Millisecond, check(func(s telemetry.Status) bool { return !s.Ready }),
		"still ready with Kinesis unreachable: %+v", &last)
	t.Logf("not ready %s after Kinesis went away: %s", time.Since(down).Round(time.Millisecond), last.Reason)
	if !last.Live {
		t.Errorf("not live as soon as not ready: %+v", last)
	}
	testkit.Eventually(t, notLive+slack, 10*time.Millisecond, check(func(s telemetry.Status) bool { return !s.Live }),
		"still live with Kinesis unreachable past NotLiveAfter: %+v", &last)
	t.Logf("not live %s after Kinesis went away: %s", time.Since(down).Round(time.Millisecond), last.Reason)
	if !strings.Contains(last.Reason, "shard sync") {
		t.Errorf("reason does not name the shard sync: %q", last.Reason)
	}

	proxy.SetDown(false)
	up := time.Now()
	// The SDK may be sleeping in a retry backoff of the call that failed: allow for it.
	testkit.Eventually(t, 60*time.Second, 20*time.Millisecond, check(func(s telemetry.Status) bool { return s.Ready && s.Live }),
		"worker did not recover after Kinesis returned: %+v", &last)
	t.Logf("ready again %s after Kinesis returned: %s", time.Since(up).Round(time.Millisecond), last.Reason)
}
