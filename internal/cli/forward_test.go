package cli

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shardline/shardline/internal/lab/testkit"
)

// TestForwardRefusesToStartWithoutAuth is the hostile default: a forwarder started with no
// --webhook-token must not accept unauthenticated events; it refuses to start unless the operator
// says --insecure-no-auth. Every case runs with a cancelled context, so a forwarder that does start
// stops at once (exit 0) instead of serving.
func TestForwardRefusesToStartWithoutAuth(t *testing.T) {
	vars := func(extra ...string) map[string]string {
		m := map[string]string{"SHARDLINE_LISTEN": "127.0.0.1:0", "SHARDLINE_REGION": "us-east-1"}
		for i := 0; i+1 < len(extra); i += 2 {
			m[extra[i]] = extra[i+1]
		}
		return m
	}
	forward := func(args ...string) []string { return append([]string{"forward"}, args...) }
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	runMain(t, ctx, []mainCase{
		{"no token", forward(), vars(), 2, []string{"--webhook-token", "--insecure-no-auth", "SHARDLINE_WEBHOOK_TOKEN"}},
		{"blank token", forward("--webhook-token", "  "), vars(), 2, []string{"--webhook-token"}},
		{"token flag", forward("--webhook-token", "s3cret"), vars(), 0, nil},
		{"token from the environment", forward(), vars("SHARDLINE_WEBHOOK_TOKEN", "s3cret"), 0, nil},
		{"explicitly insecure", forward("--insecure-no-auth"), vars(), 0, []string{"insecure"}},
		{"insecure and a token", forward("--insecure-no-auth", "--webhook-token", "s3cret"), vars(), 2, []string{"--insecure-no-auth", "--webhook-token"}},
		{"invalid input bucket", forward("--webhook-token", "s3cret", "--input-buckets", "in-a,Not_A_Bucket"), vars(), 2, []string{"--input-buckets", "Not_A_Bucket"}},
		{"input bucket ARN", forward("--webhook-token", "s3cret", "--input-buckets", "arn:aws:s3:::in-a"), vars(), 2, []string{"--input-buckets", "ARN"}},
		{"invalid SNS topic ARN", forward("--webhook-token", "s3cret", "--sns-topic-arns", "arn:aws:sqs:us-east-1:123456789012:q"), vars(), 2, []string{"--sns-topic-arns"}},
	})
}

// TestForwardServesWebhookAndMetricsApart starts `forward` with a token and --metrics-listen: an
// unauthenticated POST gets 401, /metrics is served on the metrics listener only (and counts the
// refusal), and both listeners stop when the context ends.
func TestForwardServesWebhookAndMetricsApart(t *testing.T) {
	webhook, metrics := freeAddr(t), freeAddr(t)
	env, _, errOut := testEnv(map[string]string{"SHARDLINE_REGION": "us-east-1", "SHARDLINE_WEBHOOK_TOKEN": "s3cret"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"forward", "--listen", webhook, "--metrics-listen", metrics, "--input-buckets", "in-bucket"}, env)
	}()
	stopped := false
	stop := func() int {
		cancel()
		stopped = true
		select {
		case code := <-done:
			return code
		case <-time.After(30 * time.Second):
			t.Fatal("forward did not stop after its context ended")
			return -1
		}
	}
	t.Cleanup(func() {
		if !stopped {
			stop()
		}
	})
	waitUp(t, "http://"+webhook+"/healthz", done, errOut)
	waitUp(t, "http://"+metrics+"/healthz", done, errOut)

	resp, err := http.Post("http://"+webhook+"/webhook", "application/json", strings.NewReader(`{"Records":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unauthenticated POST: %d, want 401", resp.StatusCode)
	}
	if code := getStatus(t, "http://"+webhook+"/metrics"); code != http.StatusNotFound {
		t.Errorf("/metrics on the webhook listener: %d, want 404", code)
	}
	body := getBody(t, "http://"+metrics+"/metrics")
	if !strings.Contains(body, `shardline_forwarder_requests_total{result="unauthorized"} 1`) {
		t.Errorf("metrics listener does not count the refusal:\n%s", body)
	}
	if code := stop(); code != 0 {
		t.Fatalf("forward exited %d; stderr:\n%s", code, errOut)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitUp polls url until it answers 200, the command exits, or a deadline passes.
func waitUp(t *testing.T, url string, done <-chan int, errOut fmt.Stringer) {
	t.Helper()
	testkit.Eventually(t, 20*time.Second, 20*time.Millisecond, func() bool {
		select {
		case code := <-done:
			t.Fatalf("forward exited %d before serving; stderr:\n%s", code, errOut)
		default:
		}
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, "%s not up; stderr:\n%s", url, errOut)
}

func getStatus(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func getBody(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
