package processor

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	chk "github.com/vmware/vmware-go-kcl-v2/clientlibrary/checkpoint"

	"github.com/shardline/shardline/checkpoint"
)

// kclCall is one logging call exactly as vmware-go-kcl-v2 v1.0.0 makes it.
type kclCall struct {
	method string // Debugf, Infof, Warnf, Errorf
	format string
	args   []any
}

var listShardsErr = fmt.Errorf("operation error Kinesis: ListShards, https response error StatusCode: 400, RequestID: 1f0e, ResourceNotFoundException: Stream events under account 000000000000 not found.")

// TestKCLLogLines: the KCL's frequent lines come out as structured lines at a level that says
// whether they are signal, without Go-syntax dumps of request structs.
func TestKCLLogLines(t *testing.T) {
	tests := []struct {
		name  string
		call  kclCall
		level string // "" means not logged at debug level off (below info)
		msg   string
		attrs map[string]string
	}{
		{
			name:  "ListShards failure keeps the error, drops the request dump",
			call:  kclCall{"Errorf", "Error in ListShards: %s Error: %+v Request: %s", []any{"events", listShardsErr, &kinesis.ListShardsInput{StreamName: aws.String("events")}}},
			level: "ERROR", msg: "shard sync failed: cannot list the stream's shards",
			attrs: map[string]string{"stream": "events", "error": listShardsErr.Error()},
		},
		{
			name: "the sync retry repeats the ListShards line: debug",
			call: kclCall{"Errorf", "Error syncing shards: %+v, Retrying in %d ms...", []any{listShardsErr, 4211}},
		},
		{
			name: "rebalance while shards are free is normal: debug",
			call: kclCall{"Warnf", "Error in rebalance: %+v", []any{chk.ErrShardNotAssigned}},
		},
		{
			name:  "other rebalance errors stay warnings",
			call:  kclCall{"Warnf", "Error in rebalance: %+v", []any{fmt.Errorf("scan leases: connection refused")}},
			level: "WARN", msg: "lease rebalancing failed", attrs: map[string]string{"error": "scan leases: connection refused"},
		},
		{
			name:  "a lease lost ends a consumer: info",
			call:  kclCall{"Errorf", "Error in getRecords: %+v", []any{&checkpoint.LeaseError{Shard: "shardId-000000000001", Reason: "claimed by w2"}}},
			level: "INFO", msg: "shard consumer stopped: the lease is no longer ours",
			attrs: map[string]string{"error": "lease shardId-000000000001: claimed by w2"},
		},
		{
			name:  "GetRecords failure drops the request dump",
			call:  kclCall{"Errorf", "Error getting records from Kinesis that cannot be retried: %+v Request: %s", []any{fmt.Errorf("ExpiredIteratorException"), &kinesis.GetRecordsInput{Limit: aws.Int32(1000)}}},
			level: "ERROR", msg: "GetRecords failed", attrs: map[string]string{"error": "ExpiredIteratorException"},
		},
		{
			name:  "throughput exceeded: message and key-value pairs",
			call:  kclCall{"Errorf", "message", []any{"Throughput Exceeded Error: reached max retry count getting records from shard", "shardId", "shardId-000000000000", "retryCount", 11, "error", fmt.Errorf("ProvisionedThroughputExceededException")}},
			level: "ERROR", msg: "Throughput Exceeded Error: reached max retry count getting records from shard",
			attrs: map[string]string{"shardId": "shardId-000000000000", "retryCount": "11", "error": "ProvisionedThroughputExceededException"},
		},
		{
			name:  "cannot take a lease",
			call:  kclCall{"Errorf", "Cannot get lease: %+v", []any{fmt.Errorf("get lease shardId-0: AccessDeniedException")}},
			level: "ERROR", msg: "cannot take a lease", attrs: map[string]string{"error": "get lease shardId-0: AccessDeniedException"},
		},
		{
			name: "progress lines are debug",
			call: kclCall{"Infof", "Found %d shards", []any{2}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			k := kclLogger{l: slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))}
			callKCLLogger(k, tc.call)
			if tc.level == "" {
				if buf.Len() != 0 {
					t.Fatalf("logged at info level: %s", buf.String())
				}
				return
			}
			var line map[string]any
			if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
				t.Fatalf("%v: %q", err, buf.String())
			}
			if line["level"] != tc.level || line["msg"] != tc.msg {
				t.Errorf("level %v msg %q, want %s %q", line["level"], line["msg"], tc.level, tc.msg)
			}
			for k, v := range tc.attrs {
				if got := fmt.Sprint(line[k]); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if s := buf.String(); strings.Contains(s, "%!") || strings.Contains(s, "&{") {
				t.Errorf("formatting garbage: %s", s)
			}
		})
	}
}

// TestKCLLogFallback: a line the translation does not know is formatted, with request structs
// replaced by their type name.
func TestKCLLogFallback(t *testing.T) {
	var buf bytes.Buffer
	k := kclLogger{l: slog.New(slog.NewTextHandler(&buf, nil))}
	k.Errorf("Something new: %s Request: %s", "events", &kinesis.ListShardsInput{})
	if s := buf.String(); strings.Contains(s, "%!") || !strings.Contains(s, "<*kinesis.ListShardsInput>") || !strings.Contains(s, "level=ERROR") {
		t.Fatalf("fallback line: %s", s)
	}
}

func callKCLLogger(k kclLogger, c kclCall) {
	switch c.method {
	case "Debugf":
		k.Debugf(c.format, c.args...)
	case "Infof":
		k.Infof(c.format, c.args...)
	case "Warnf":
		k.Warnf(c.format, c.args...)
	case "Errorf":
		k.Errorf(c.format, c.args...)
	}
}

// TestKCLFormatsAreTheLibrarys: every format translateKCL knows occurs in the KCL's source, so
// that a library upgrade that rewords a line fails here instead of silently logging it raw.
func TestKCLFormatsAreTheLibrarys(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/vmware/vmware-go-kcl-v2").Output()
	if err != nil {
		t.Skipf("cannot locate the KCL's source: %v", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "clientlibrary", "worker")
	var src []byte
	for _, f := range []string{"worker.go", "polling-shard-consumer.go", "common-shard-consumer.go"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Skipf("cannot read the KCL's source: %v", err)
		}
		src = append(src, b...)
	}
	for _, f := range []string{
		"Error in ListShards: %s Error: %+v Request: %s",
		"Error syncing shards: %+v, Retrying in %d ms...",
		"Error in rebalance: %+v",
		"Couldn't fetch checkpoint: %+v",
		"Cannot get lease: %+v",
		"Error in getRecords: %+v",
		"Unable to get shard iterator for %s: %v",
		"Error in waiting for parent shard: %v to finish. Error: %+v",
		"Error getting records from Kinesis that cannot be retried: %+v Request: %s",
		"Error getting records from shard %v: %+v",
		"Failed to remove shard lease info: %s Error: %+v",
		"Failed to release shard lease or shard: %s Error: %+v",
		"Failed to initialize Worker: %+v",
		"Failed to start Checkpointer: %+v",
		`log.Errorf("message"`,
	} {
		if !bytes.Contains(src, []byte(f)) {
			t.Errorf("the KCL no longer logs %q", f)
		}
	}
}
