package processor_test

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/shardline/shardline/checkpoint"
	"github.com/shardline/shardline/internal/lab/pipelinetest"
	"github.com/shardline/shardline/internal/lab/testkit"
)

// TestSIGTERMDrainsAndReleases runs `shardline work` as a real process, lets it take every lease,
// sends SIGTERM (what ECS sends) and checks that it exits 0 within its --stop-timeout and leaves
// no lease owned, so other workers take over at once instead of after the lease duration.
func TestSIGTERMDrainsAndReleases(t *testing.T) {
	// pipelinetest's resources, deleted when the test ends (kinesalite's shard limit is shared).
	p := pipelinetest.New(t, 2)
	bin := filepath.Join(t.TempDir(), "shardline")
	if b, err := exec.Command("go", "build", "-o", bin, "../cmd/shardline").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	metrics := ln.Addr().String()
	ln.Close()
	const stopTimeout = 10 * time.Second
	cmd := exec.Command(bin, "work", "--worker-id", "sigterm-test", "--stream", p.Stream, "--lease-table", p.Leases,
		"--ledger-table", p.Ledger, "--dead-letter-table", p.DeadLetters, "--output-bucket", p.Output, "--s3-path-style",
		"--metrics-addr", metrics, "--lease-duration", "6s", "--shard-sync-interval", "300ms",
		"--stop-timeout", stopTimeout.String(), "--log-format", "text")
	cmd.Env = os.Environ()
	logFile, err := os.Create(filepath.Join(t.TempDir(), "processor.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	cp, err := checkpoint.New(checkpoint.Config{Client: p.Clients.DynamoDB, TableName: p.Leases, WorkerID: "inspector"})
	if err != nil {
		t.Fatal(err)
	}
	owned := func() int {
		rows, err := cp.Scan(context.Background())
		if err != nil {
			return -1
		}
		n := 0
		for _, l := range rows {
			if l.Owner == "sigterm-test" {
				n++
			}
		}
		return n
	}
	testkit.Eventually(t, 60*time.Second, 100*time.Millisecond, func() bool { return owned() == 2 }, "worker did not take both leases")
	if resp, err := http.Get("http://" + metrics + "/readyz"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("readyz: %v %v", resp, err)
	}

	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			b, _ := os.ReadFile(logFile.Name())
			t.Fatalf("worker exited with %v after SIGTERM; log:\n%s", err, b)
		}
	case <-time.After(stopTimeout + 5*time.Second):
		t.Fatalf("worker still running %s after SIGTERM (stop timeout %s)", time.Since(start), stopTimeout)
	}
	t.Logf("worker stopped %s after SIGTERM", time.Since(start).Round(time.Millisecond))
	if n := owned(); n != 0 {
		t.Fatalf("%d leases still owned after a graceful stop", n)
	}
}
