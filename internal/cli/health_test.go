package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/shardline/shardline/internal/lab/emulators"
	"github.com/shardline/shardline/internal/lab/switchproxy"
	"github.com/shardline/shardline/internal/lab/testkit"
	"github.com/shardline/shardline/internal/telemetry"
)

// TestWorkMetricsPortClash: a worker whose metrics address is taken exits 1 before starting:
// it does not log "worker started" and then "worker stopped cleanly".
func TestWorkMetricsPortClash(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	env, _, errOut := testEnv(nil)
	code := Main(context.Background(), []string{"work", "--region", "us-east-1", "--output-bucket", "out",
		"--metrics-addr", ln.Addr().String(), "--log-format", "text"}, env)
	if code != 1 {
		t.Fatalf("exit %d, want 1; stderr:\n%s", code, errOut)
	}
	for _, s := range []string{"worker started", "stopped cleanly"} {
		if strings.Contains(errOut.String(), s) {
			t.Errorf("stderr says %q on a port clash:\n%s", s, errOut)
		}
	}
	if !strings.Contains(errOut.String(), "--metrics-addr") || !strings.Contains(errOut.String(), "address already in use") {
		t.Errorf("stderr does not name the clash:\n%s", errOut)
	}
}

// TestForwardLogsItsStop: the forwarder says when and why it stops and how long draining took,
// with a human-readable duration.
func TestForwardLogsItsStop(t *testing.T) {
	env, _, errOut := testEnv(map[string]string{"SHARDLINE_REGION": "us-east-1", "SHARDLINE_WEBHOOK_TOKEN": "s3cret", "SHARDLINE_LISTEN": "127.0.0.1:0"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if code := Main(ctx, []string{"forward", "--log-format", "json"}, env); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, errOut)
	}
	var stopped map[string]any
	for _, line := range strings.Split(errOut.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "forwarder stopped" {
			stopped = m
		}
	}
	if stopped == nil {
		t.Fatalf("no 'forwarder stopped' line:\n%s", errOut)
	}
	if r, _ := stopped["reason"].(string); !strings.Contains(r, "shutdown requested") {
		t.Errorf("reason %q", stopped["reason"])
	}
	if d, ok := stopped["drained_in"].(string); !ok {
		t.Errorf("drained_in %v is not a readable duration", stopped["drained_in"])
	} else if _, err := time.ParseDuration(d); err != nil {
		t.Errorf("drained_in %q: %v", d, err)
	}
}

// TestForwardReadyFollowsKinesis runs `forward` against the local stack's Kinesis through a
// proxy that can make it unreachable: /readyz answers 503 (with the reason) while Kinesis is
// unreachable and 200 when it answers, /healthz 200 throughout.
func TestForwardReadyFollowsKinesis(t *testing.T) {
	c := emulators.Require(t)
	endpoint, err := url.Parse(os.Getenv("AWS_ENDPOINT_URL_KINESIS"))
	if err != nil || endpoint.Host == "" {
		t.Skipf("AWS_ENDPOINT_URL_KINESIS %q: the test needs the local stack's Kinesis address", os.Getenv("AWS_ENDPOINT_URL_KINESIS"))
	}
	stream := emulators.Name(t, "events")
	ctx := context.Background()
	if _, err := c.Kinesis.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(stream), ShardCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = c.Kinesis.DeleteStream(context.Background(), &kinesis.DeleteStreamInput{StreamName: aws.String(stream)})
	})
	if err := kinesis.NewStreamExistsWaiter(c.Kinesis).Wait(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String(stream)}, time.Minute); err != nil {
		t.Fatal(err)
	}
	proxy := switchproxy.New(t, endpoint.Host)
	proxy.SetDown(true)
	t.Setenv("AWS_ENDPOINT_URL_KINESIS", proxy.URL())

	addr := freeAddr(t)
	env, _, errOut := testEnv(map[string]string{"SHARDLINE_WEBHOOK_TOKEN": "s3cret"})
	fctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- Main(fctx, []string{"forward", "--listen", addr, "--stream", stream, "--not-ready-after", "600ms",
			"--put-deadline", "1s", "--input-buckets", "uploads"}, env)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("forward did not stop")
		}
	})
	waitUp(t, "http://"+addr+"/healthz", done, errOut)
	var last telemetry.Status
	readyz := func(want int) func() bool {
		return func() bool {
			resp, err := http.Get("http://" + addr + "/readyz")
			if err != nil {
				return false
			}
			defer resp.Body.Close()
			last = telemetry.Status{}
			_ = json.NewDecoder(resp.Body).Decode(&last)
			return resp.StatusCode == want
		}
	}
	testkit.Eventually(t, 10*time.Second, 20*time.Millisecond, readyz(503), "readyz not 503 with Kinesis unreachable: %+v", &last)
	t.Logf("Kinesis unreachable at start: %s", last.Reason)

	proxy.SetDown(false)
	testkit.Eventually(t, 30*time.Second, 20*time.Millisecond, readyz(200), "readyz not 200 once Kinesis answers: %+v", &last)
	if code := postEvent(t, addr); code != http.StatusOK {
		t.Fatalf("webhook with Kinesis up: %d", code)
	}

	proxy.SetDown(true)
	if code := postEvent(t, addr); code != http.StatusServiceUnavailable {
		t.Fatalf("webhook with Kinesis down: %d, want 503", code)
	}
	if !readyz(503)() {
		t.Fatalf("readyz right after PutRecords failed: %+v", last)
	}
	t.Logf("PutRecords failing: %s", last.Reason)
	if code := getStatus(t, "http://"+addr+"/healthz"); code != http.StatusOK {
		t.Errorf("healthz %d while Kinesis is down: a forwarder stays live while it serves", code)
	}

	proxy.SetDown(false)
	testkit.Eventually(t, 30*time.Second, 20*time.Millisecond, readyz(200), "readyz not 200 once Kinesis answers again: %+v", &last)
}

func postEvent(t *testing.T, addr string) int {
	t.Helper()
	body, err := os.ReadFile("../forwarder/testdata/minio_webhook_put.json")
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/webhook", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer s3cret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}
