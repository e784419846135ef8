package forwarder

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/shardline/shardline/internal/envelope"
	"github.com/shardline/shardline/internal/envelope/schema"
)

// The envelope contract (docs/envelope.md), as a producer must keep it: every record validates
// against internal/envelope/schema/envelope-v1.schema.json, its id and partition key follow the
// documented rules (computed here from the rules, not with package envelope), and a worker's
// envelope.Decode accepts it.

// contractRecord is the part of an envelope checkRecord reads beyond the schema.
type contractRecord struct {
	ID        string `json:"id"`
	Bucket    string `json:"bucket"`
	Key       string `json:"key"`
	Op        string `json:"op"`
	Sequencer string `json:"sequencer"`
}

// documentedID is the id rule of docs/envelope.md: lower-case hex of the first 16 bytes of
// SHA-256 over bucket, key, sequencer and op, each followed by a zero byte.
func documentedID(r contractRecord) string {
	h := sha256.New()
	for _, part := range []string{r.Bucket, r.Key, r.Sequencer, r.Op} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// documentedPartitionKey is the partition key rule of docs/envelope.md: bucket/key when it is at
// most 256 bytes, else "sha256:" and the lower-case hex SHA-256 of bucket/key.
func documentedPartitionKey(r contractRecord) string {
	pk := r.Bucket + "/" + r.Key
	if len(pk) <= 256 {
		return pk
	}
	sum := sha256.Sum256([]byte(pk))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// checkRecord returns why entry breaks the envelope contract, or nil.
func checkRecord(v *schema.Validator, entry types.PutRecordsRequestEntry) error {
	if err := v.Validate(entry.Data); err != nil {
		return err
	}
	var r contractRecord
	if err := json.Unmarshal(entry.Data, &r); err != nil {
		return fmt.Errorf("not an envelope: %w", err)
	}
	if want := documentedID(r); r.ID != want {
		return fmt.Errorf("id %s, the documented rule gives %s", r.ID, want)
	}
	if got, want := aws.ToString(entry.PartitionKey), documentedPartitionKey(r); got != want {
		return fmt.Errorf("partition key %q, the documented rule gives %q", got, want)
	}
	if _, err := envelope.Decode(entry.Data); err != nil {
		return fmt.Errorf("a worker would dead-letter it: %w", err)
	}
	return nil
}

// contractPayload is a notification body and how many events the forwarder must put for it
// (-1: whatever the fixture holds).
type contractPayload struct {
	body   []byte
	events int
}

// contractPayloads returns every notification fixture of this package and of package
// notification, plus S3 puts whose keys need decoding or reach the partition key's limit,
// by name.
func contractPayloads(t *testing.T) map[string]contractPayload {
	t.Helper()
	payloads := map[string]contractPayload{}
	for _, pattern := range []string{"testdata/*.json", "../notification/testdata/*.json", "../notification/testdata/minio/*.json"} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			payloads[f] = contractPayload{body: data, events: -1}
		}
	}
	put, ok := payloads["../notification/testdata/s3_put.json"]
	if !ok {
		t.Fatal("fixture ../notification/testdata/s3_put.json missing")
	}
	const bucket, fixtureKey = "shardline-input", "photos/2024/red+flower.jpg"
	withKey := func(key string) []byte {
		return bytes.Replace(put.body, []byte(`"`+fixtureKey+`"`), []byte(`"`+url.QueryEscape(key)+`"`), 1)
	}
	room := 256 - len(bucket+"/")
	for name, key := range map[string]string{
		"key of 1024 bytes, multi-byte and escaped": strings.Repeat("é", 511) + "/a",
		"partition key exactly 256 bytes":           strings.Repeat("k", room),
		"partition key 257 bytes (hashed)":          strings.Repeat("k", room+1),
		"key with space, plus, percent and slash":   "a b+c%2F/ü.jpg",
		"key with quote, backslash and control":     "q\"b\\s\x01.jpg",
	} {
		payloads[name] = contractPayload{body: withKey(key), events: 1}
	}
	return payloads
}

// TestForwardedEnvelopesKeepTheContract drives the forwarder (notification.Parse, the Writer,
// envelope encoding) over every notification shape we have and checks every record it puts.
func TestForwardedEnvelopesKeepTheContract(t *testing.T) {
	v, err := schema.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{} // what the records covered, so that a shrinking fixture set shows
	for name, p := range contractPayloads(t) {
		t.Run(name, func(t *testing.T) {
			kin := &fakeKinesis{}
			w, reg, _ := newTestWriter(t, kin, nil)
			f, err := New(Config{Writer: w, Registerer: reg, Logger: testLogger(t)})
			if err != nil {
				t.Fatal(err)
			}
			d, err := f.Forward(t.Context(), p.body)
			if err != nil {
				t.Fatalf("Forward: %v", err)
			}
			n := 0
			for _, call := range kin.sent() {
				for _, entry := range call.Records {
					n++
					if err := checkRecord(v, entry); err != nil {
						t.Errorf("record %s breaks the contract: %v", entry.Data, err)
					}
					cover(t, seen, entry)
				}
			}
			if n != d.Forwarded || p.events >= 0 && n != p.events {
				t.Errorf("%d records put, Forward reports %d forwarded, want %d", n, d.Forwarded, p.events)
			}
		})
	}
	for _, want := range []string{"op put", "op delete", "source aws:s3", "source minio:s3", "source aws.s3",
		"versionId", "key decoded", "partition key hashed", "partition key plain"} {
		if seen[want] == 0 {
			t.Errorf("no forwarded record covered %q (covered: %v)", want, seen)
		}
	}
}

// cover counts what a record exercises.
func cover(t *testing.T, seen map[string]int, entry types.PutRecordsRequestEntry) {
	t.Helper()
	var m struct {
		contractRecord
		Source    string `json:"source"`
		VersionID string `json:"versionId"`
	}
	if err := json.Unmarshal(entry.Data, &m); err != nil {
		return // checkRecord reported it
	}
	seen["op "+m.Op]++
	seen["source "+m.Source]++
	if m.VersionID != "" {
		seen["versionId"]++
	}
	if strings.ContainsAny(m.Key, " %") {
		seen["key decoded"]++
	}
	if strings.HasPrefix(aws.ToString(entry.PartitionKey), "sha256:") {
		seen["partition key hashed"]++
	} else {
		seen["partition key plain"]++
	}
}

// TestContractCheckRejects shows that checkRecord fails on records that break the contract, so
// the test above can fail.
func TestContractCheckRejects(t *testing.T) {
	v, err := schema.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	ev := testEvent(t, "photos/a.jpg", 0xAB) // a sequencer with letters
	ev.ForwardedAt = clockStart
	good, err := envelope.Encode(ev)
	if err != nil {
		t.Fatal(err)
	}
	entry := func(data []byte, pk string) types.PutRecordsRequestEntry {
		return types.PutRecordsRequestEntry{Data: data, PartitionKey: aws.String(pk)}
	}
	replace := func(old, new string) []byte {
		t.Helper()
		b := bytes.Replace(good, []byte(old), []byte(new), 1)
		if bytes.Equal(b, good) {
			t.Fatalf("%s not in %s", old, good)
		}
		return b
	}
	if err := checkRecord(v, entry(good, ev.PartitionKey())); err != nil {
		t.Fatalf("a good record fails the check: %v", err)
	}
	tests := []struct {
		name  string
		entry types.PutRecordsRequestEntry
		want  error // nil: any error
	}{
		{"version 2", entry(replace(`"v":1`, `"v":2`), ev.PartitionKey()), schema.ErrInvalid},
		{"version as a string", entry(replace(`"v":1`, `"v":"1"`), ev.PartitionKey()), schema.ErrInvalid},
		{"sequencer lower case", entry(replace(ev.Sequencer, strings.ToLower(ev.Sequencer)), ev.PartitionKey()), schema.ErrInvalid},
		{"op unknown", entry(replace(`"op":"put"`, `"op":"copy"`), ev.PartitionKey()), schema.ErrInvalid},
		{"bucket missing", entry(replace(`"bucket":"in-bucket",`, ``), ev.PartitionKey()), schema.ErrInvalid},
		{"size negative", entry(replace(`"size":42`, `"size":-42`), ev.PartitionKey()), schema.ErrInvalid},
		{"eventTime not RFC 3339", entry(replace(`"eventTime":"`, `"eventTime":"at `), ev.PartitionKey()), schema.ErrInvalid},
		{"a field name in another case", entry(replace(`{`, `{"Key":"b.jpg",`), ev.PartitionKey()), schema.ErrInvalid},
		{"id not the hash", entry(replace(ev.ID, strings.Repeat("0", 32)), ev.PartitionKey()), nil},
		{"partition key not bucket/key", entry(good, "photos/a.jpg"), nil},
		{"partition key of another object", entry(good, "in-bucket/photos/b.jpg"), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := checkRecord(v, tc.entry)
			if err == nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("checkRecord = %v, want an error (wrapping %v)", err, tc.want)
			}
		})
	}
}
