package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shardline/shardline/internal/envelope"
	"github.com/shardline/shardline/internal/lab/golden"
	"github.com/shardline/shardline/internal/lab/pipelinetest"
	"github.com/shardline/shardline/internal/status"
)

// lines is a concurrency-safe writer that calls onLine with the number of lines written so far.
type lines struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	onLine func(n int)
}

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	l.onLine(bytes.Count(l.buf.Bytes(), []byte("\n")))
	return len(p), nil
}

func (l *lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func TestStatusCommand(t *testing.T) {
	p := pipelinetest.New(t, 2)
	for _, k := range []string{"a.jpg", "b.jpg", "c.jpg"} {
		p.Send(p.Event(k, envelope.OpDelete, pipelinetest.Seq(1), ""))
	}
	w := p.StartWorker(pipelinetest.WorkerOptions{ID: "worker-7"})
	w.WaitFinished(3)
	ctx := context.Background()

	env, out, errOut := testEnv(p.Env())
	if code := Main(ctx, []string{"status", "--json"}, env); code != 0 {
		t.Fatalf("status --json: exit %d\n%s", code, errOut)
	}
	var r status.Report
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("status --json is not a report: %v\n%s", err, out)
	}
	if r.Stream != p.Stream || len(r.Shards) != 2 {
		t.Fatalf("report: %+v", r)
	}

	env, out, errOut = testEnv(p.Env())
	if code := Main(ctx, []string{"status"}, env); code != 0 {
		t.Fatalf("status: exit %d\n%s", code, errOut)
	}
	for _, want := range []string{"SHARD", "shardId-000000000000", "shardId-000000000001", "WORKER"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("status output lacks %q:\n%s", want, out)
		}
	}

	// --watch: two JSON lines, then stop.
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sink := &lines{onLine: func(n int) {
		if n >= 2 {
			cancel()
		}
	}}
	var stderr bytes.Buffer
	env = &Env{Stdout: sink, Stderr: &stderr, Getenv: testEnvLookup(p.Env())}
	if code := Main(wctx, []string{"status", "--watch", "--json", "--interval", "100ms"}, env); code != 0 {
		t.Fatalf("status --watch: exit %d\n%s", code, &stderr)
	}
	samples := strings.Split(strings.TrimSpace(sink.String()), "\n")
	if len(samples) < 2 {
		t.Fatalf("watch printed %d samples", len(samples))
	}
	var second status.Report
	if err := json.Unmarshal([]byte(samples[1]), &second); err != nil || second.Interval <= 0 {
		t.Fatalf("second sample: %v, interval %v", err, second.Interval)
	}
	for _, s := range second.Shards {
		if s.ProcessedPerSecond == nil {
			t.Errorf("shard %s: no processed rate in the second sample", s.ID)
		}
	}

	env, _, errOut = testEnv(p.Env())
	if code := Main(ctx, []string{"status", "--metrics-addr", ":0"}, env); code != 2 || !strings.Contains(errOut.String(), "needs --watch") {
		t.Fatalf("--metrics-addr without --watch: exit %d\n%s", code, errOut)
	}
}

func testEnvLookup(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// TestWriteStatusTextGolden renders the report of testdata/status_report.json (closed and open
// shards, a live and an expired lease, lag and rates at a lower bound, an orphan lease row).
func TestWriteStatusTextGolden(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "status_report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r status.Report
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := writeStatusText(&buf, r); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "status.golden", buf.Bytes())
}

func TestHuman(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"}, {-time.Second, "0s"}, {850 * time.Millisecond, "850ms"}, {4200 * time.Millisecond, "4.2s"},
		{3*time.Minute + 7*time.Second, "3m07s"}, {2*time.Hour + 5*time.Minute, "2h05m"},
	}
	for _, tc := range tests {
		if got := human(tc.d); got != tc.want {
			t.Errorf("human(%s) = %q, want %q", tc.d, got, tc.want)
		}
	}
}
