package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// This file is the producer side of the stream, written from docs/envelope.md alone, as a
// program other than shardline's forwarder must write it ("Writing envelopes from another
// producer"). The integration test puts its records on the stream with it.

// envelopeV1 is a version 1 envelope: one S3 object event.
type envelopeV1 struct {
	V           int    `json:"v"`
	ID          string `json:"id"`
	Source      string `json:"source,omitempty"`
	EventName   string `json:"eventName,omitempty"`
	Bucket      string `json:"bucket"`
	Key         string `json:"key"`
	Op          string `json:"op"`
	Sequencer   string `json:"sequencer"`
	ETag        string `json:"etag,omitempty"`
	VersionID   string `json:"versionId,omitempty"`
	Size        int64  `json:"size,omitempty"`
	EventTime   string `json:"eventTime,omitempty"`
	ForwardedAt string `json:"forwardedAt,omitempty"`
}

// errBadSequencer: a sequencer that is empty, longer than 32 digits or not hex.
var errBadSequencer = errors.New("sequencer must be 1 to 32 hex digits")

// newEnvelope returns the envelope of an event of bucket/key (key decoded) with S3's raw
// sequencer; etag and size are what the notification said.
func newEnvelope(bucket, key, op, rawSequencer, etag string, size int64, at time.Time) (envelopeV1, error) {
	seq, err := normalizeSequencer(rawSequencer)
	if err != nil {
		return envelopeV1{}, err
	}
	return envelopeV1{
		V: 1, ID: envelopeID(bucket, key, seq, op), Source: "example:producer",
		Bucket: bucket, Key: key, Op: op, Sequencer: seq, ETag: etag, Size: size,
		EventTime: at.UTC().Format(time.RFC3339Nano), ForwardedAt: time.Now().UTC().Format(time.RFC3339Nano),
	}, nil
}

// normalizeSequencer upper-cases a raw S3 sequencer and right-pads it with '0' to 32 digits, so
// that string order is S3's order for one key.
func normalizeSequencer(raw string) (string, error) {
	notHex := func(r rune) bool { return !strings.ContainsRune("0123456789abcdefABCDEF", r) }
	if raw == "" || len(raw) > 32 || strings.IndexFunc(raw, notHex) >= 0 {
		return "", fmt.Errorf("%w: %q", errBadSequencer, raw)
	}
	return strings.ToUpper(raw) + strings.Repeat("0", 32-len(raw)), nil
}

// envelopeID is the idempotency key: the first 16 bytes of SHA-256 over bucket, key, the
// normalised sequencer and op, each followed by a zero byte, in lower-case hex.
func envelopeID(bucket, key, sequencer, op string) string {
	h := sha256.New()
	for _, field := range []string{bucket, key, sequencer, op} {
		h.Write([]byte(field))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// partitionKey sends every event of one object to one shard: bucket/key when it is at most 256
// bytes, else "sha256:" and the hex SHA-256 of it.
func partitionKey(bucket, key string) string {
	pk := bucket + "/" + key
	if len(pk) <= 256 {
		return pk
	}
	sum := sha256.Sum256([]byte(pk))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// schemaV1 compiles the published JSON Schema of envelope version 1 from the repository (the file,
// not a Go package: this module may import none of shardline's internals).
func schemaV1(t *testing.T) *jsonschema.Schema {
	t.Helper()
	const file = "../../internal/envelope/schema/envelope-v1.schema.json"
	raw, err := os.ReadFile(filepath.FromSlash(file))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(file, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(file)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return s
}

// checkEnvelope fails t unless data validates against the schema.
func checkEnvelope(t *testing.T, s *jsonschema.Schema, data []byte) {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: %v", data, err)
	}
	if err := s.Validate(inst); err != nil {
		t.Fatalf("envelope %s does not match schema version 1: %v", data, err)
	}
}

// TestProducerKeepsTheContract checks this file's producer against docs/envelope.md: the
// documented example's id and partition key, the sequencer rule, and the schema.
func TestProducerKeepsTheContract(t *testing.T) {
	// The example in docs/envelope.md.
	if got, want := envelopeID("shardline-input", "photos/2024/red flower.jpg", "0055AED6DCD90281E500000000000000", "put"),
		"8074e5eb2326cd8923f67e6bfab12acf"; got != want {
		t.Errorf("id of the documented example = %s, want %s", got, want)
	}
	if got, want := partitionKey("shardline-input", "photos/2024/red flower.jpg"), "shardline-input/photos/2024/red flower.jpg"; got != want {
		t.Errorf("partition key of the documented example = %q, want %q", got, want)
	}

	t.Run("sequencer", func(t *testing.T) {
		if got, err := normalizeSequencer("0055aed6dcd90281e5"); err != nil || got != "0055AED6DCD90281E500000000000000" {
			t.Errorf("normalizeSequencer = %q, %v", got, err)
		}
		for _, bad := range []string{"", "0055AED6DCD90281E5000000000000000", "0055AED6DCD9028XE5", "00 55"} {
			if _, err := normalizeSequencer(bad); !errors.Is(err, errBadSequencer) {
				t.Errorf("normalizeSequencer(%q) error = %v, want errBadSequencer", bad, err)
			}
		}
	})

	t.Run("partition key limit in bytes", func(t *testing.T) {
		fits := strings.Repeat("é", (256-len("b/"))/2) // 254 bytes, 127 characters
		if got := partitionKey("b", fits); got != "b/"+fits {
			t.Errorf("partition key of a 256-byte bucket/key = %q, want it unchanged", got)
		}
		over := fits + "x" // 257 bytes, 130 characters
		sum := sha256.Sum256([]byte("b/" + over))
		if got, want := partitionKey("b", over), "sha256:"+hex.EncodeToString(sum[:]); got != want {
			t.Errorf("partition key of a 257-byte bucket/key = %q, want %q", got, want)
		}
	})

	t.Run("schema", func(t *testing.T) {
		s := schemaV1(t)
		for _, tc := range []struct{ key, op string }{
			{"photos/2026/red flower é.txt", "put"},
			{"a", "delete"},
			{strings.Repeat("k", 1024), "put"},
		} {
			env, err := newEnvelope("photos-in", tc.key, tc.op, "0055AED6DCD90281E5", "d41d8cd98f00b204e9800998ecf8427e", 1024, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			data, err := json.Marshal(env)
			if err != nil {
				t.Fatal(err)
			}
			checkEnvelope(t, s, data)
		}
		// The check can fail: a record without an id is refused.
		inst, err := jsonschema.UnmarshalJSON(strings.NewReader(`{"v":1,"bucket":"b","key":"k","op":"put","sequencer":"0055AED6DCD90281E500000000000000"}`))
		if err != nil {
			t.Fatal(err)
		}
		if s.Validate(inst) == nil {
			t.Error("schema accepted an envelope without an id")
		}
	})
}
