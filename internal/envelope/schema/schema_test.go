package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shardline/shardline/internal/envelope"
)

func newValidator(t *testing.T) *Validator {
	t.Helper()
	v, err := NewValidator()
	if err != nil {
		t.Fatalf("NewValidator: %v", err)
	}
	return v
}

// schemaDoc is the part of the schema document the tests read.
type schemaDoc struct {
	Schema     string                     `json:"$schema"`
	ID         string                     `json:"$id"`
	Required   []string                   `json:"required"`
	Properties map[string]json.RawMessage `json:"properties"`
	Additional *bool                      `json:"additionalProperties"`
	Names      struct {
		AnyOf []struct {
			Enum []string `json:"enum"`
		} `json:"anyOf"`
	} `json:"propertyNames"`
}

// TestSchemaDescribesEvent keeps the schema and envelope.Event in step: the schema names exactly
// the fields Event encodes, pins the version to envelope.Version, stays open to additions, and
// its guard against case variants lists the same names.
func TestSchemaDescribesEvent(t *testing.T) {
	var doc schemaDoc
	if err := json.Unmarshal(V1(), &doc); err != nil {
		t.Fatalf("schema is not JSON: %v", err)
	}
	if doc.Schema != "https://json-schema.org/draft/2020-12/schema" || doc.ID != V1ID {
		t.Errorf("$schema %q, $id %q; want draft 2020-12 and %q", doc.Schema, doc.ID, V1ID)
	}
	tags := eventFields()
	var props []string
	for name := range doc.Properties {
		props = append(props, name)
	}
	slices.Sort(tags)
	slices.Sort(props)
	if !slices.Equal(props, tags) {
		t.Errorf("schema properties %q, envelope.Event fields %q", props, tags)
	}
	if len(doc.Names.AnyOf) == 0 || !slices.Equal(slices.Sorted(slices.Values(doc.Names.AnyOf[0].Enum)), tags) {
		t.Errorf("propertyNames' first branch must list the fields %q", tags)
	}
	var version struct {
		Const *int `json:"const"`
	}
	if err := json.Unmarshal(doc.Properties["v"], &version); err != nil || version.Const == nil || *version.Const != envelope.Version {
		t.Errorf("v must be pinned to %d with const: %s", envelope.Version, doc.Properties["v"])
	}
	if doc.Additional == nil || !*doc.Additional {
		t.Error("additionalProperties must be true: fields added within version 1 are allowed")
	}
}

// eventFields returns the JSON names of envelope.Event's fields, in declaration order.
func eventFields() []string {
	var names []string
	for f := range reflect.TypeFor[envelope.Event]().Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		names = append(names, name)
	}
	return names
}

// fullEvent is a valid event with every field set, so that removing any of them is a change.
func fullEvent(t *testing.T) envelope.Event {
	t.Helper()
	ev, err := envelope.New("aws:s3", "ObjectCreated:Put", "in-bucket", "photos/a b.jpg", envelope.OpPut,
		"0055aed6dcd90281e5", "d41d8cd98f00b204e9800998ecf8427e", "096fKKXTRTtl3on89fVO.nfljtsv6qko", 1024,
		time.Date(2024, 5, 14, 9, 21, 7, 512e6, time.UTC))
	if err != nil {
		t.Fatalf("envelope.New: %v", err)
	}
	ev.ForwardedAt = time.Date(2024, 5, 14, 9, 21, 8, 0, time.UTC)
	return ev
}

// mutate returns the wire form of ev changed by fn on its JSON object. With rehash the id is
// recomputed from the changed bucket, key, sequencer and op, so that only the intended field
// differs from a valid envelope.
func mutate(t *testing.T, ev envelope.Event, rehash bool, fn func(m map[string]any)) []byte {
	t.Helper()
	data, err := envelope.Encode(ev)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	fn(m)
	if rehash {
		str := func(k string) string { s, _ := m[k].(string); return s }
		m["id"] = envelope.ID(str("bucket"), str("key"), str("sequencer"), str("op"))
	}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSchemaAgreesWithDecode checks the schema against the worker's own check, envelope.Decode,
// on valid envelopes and one change at a time. They agree except where docs/envelope.md says the
// schema cannot follow the code (the id's hash, limits counted in bytes) or is stricter than the
// worker (null values, field names in another case).
func TestSchemaAgreesWithDecode(t *testing.T) {
	v := newValidator(t)
	ev := fullEvent(t)
	set := func(k string, val any) func(map[string]any) { return func(m map[string]any) { m[k] = val } }
	del := func(k string) func(map[string]any) { return func(m map[string]any) { delete(m, k) } }
	num := func(s string) json.Number { return json.Number(s) }
	type agreement struct {
		name           string
		body           []byte
		schema, decode bool // accepted by the schema, by envelope.Decode
	}
	required := []string{"v", "id", "bucket", "key", "op", "sequencer"}
	var tests []agreement
	for _, f := range eventFields() {
		optional := !slices.Contains(required, f)
		tests = append(tests, agreement{"without " + f, mutate(t, ev, false, del(f)), optional, optional})
	}
	tests = append(tests, []agreement{
		{"as encoded", mutate(t, ev, false, func(map[string]any) {}), true, true},
		{"minimal: required fields only", mutate(t, ev, false, func(m map[string]any) {
			for k := range m {
				if !slices.Contains(required, k) {
					delete(m, k)
				}
			}
		}), true, true},
		{"unknown extra field", mutate(t, ev, false, set("future", map[string]any{"nested": []any{1, "two"}})), true, true},
		{"v 2", mutate(t, ev, false, set("v", num("2"))), false, false},
		{"v 0", mutate(t, ev, false, set("v", num("0"))), false, false},
		{"v as a string", mutate(t, ev, false, set("v", "1")), false, false},
		{"op copy", mutate(t, ev, true, set("op", "copy")), false, false},
		{"op delete", mutate(t, ev, true, set("op", "delete")), true, true},
		{"sequencer lower case", mutate(t, ev, true, set("sequencer", strings.ToLower(ev.Sequencer))), false, false},
		{"sequencer not padded", mutate(t, ev, true, set("sequencer", "0055AED6DCD90281E5")), false, false},
		{"id upper case", mutate(t, ev, false, set("id", strings.ToUpper(ev.ID))), false, false},
		{"id well-formed but not the hash (schema cannot check)", mutate(t, ev, false, set("id", strings.Repeat("0", 32))), true, false},
		{"bucket empty", mutate(t, ev, true, set("bucket", "")), false, false},
		{"bucket 255 bytes", mutate(t, ev, true, set("bucket", strings.Repeat("b", 255))), true, true},
		{"bucket 256 bytes", mutate(t, ev, true, set("bucket", strings.Repeat("b", 256))), false, false},
		{"key empty", mutate(t, ev, true, set("key", "")), false, false},
		{"key 1024 bytes", mutate(t, ev, true, set("key", strings.Repeat("k", 1024))), true, true},
		{"key 1025 bytes", mutate(t, ev, true, set("key", strings.Repeat("k", 1025))), false, false},
		{"key 600 characters, 1200 bytes (schema counts characters)", mutate(t, ev, true, set("key", strings.Repeat("é", 600))), true, false},
		{"source 1025 bytes", mutate(t, ev, false, set("source", strings.Repeat("s", 1025))), false, false},
		{"eventName empty", mutate(t, ev, false, set("eventName", "")), true, true},
		{"etag 1025 bytes", mutate(t, ev, false, set("etag", strings.Repeat("e", 1025))), false, false},
		{"versionId 1025 bytes", mutate(t, ev, false, set("versionId", strings.Repeat("x", 1025))), false, false},
		{"size 0", mutate(t, ev, false, set("size", num("0"))), true, true},
		{"size negative", mutate(t, ev, false, set("size", num("-1"))), false, false},
		{"size fractional", mutate(t, ev, false, set("size", num("1.5"))), false, false},
		{"size above int64", mutate(t, ev, false, set("size", num("9223372036854775808"))), false, false},
		{"size as a string", mutate(t, ev, false, set("size", "1024")), false, false},
		{"eventTime with an offset", mutate(t, ev, false, set("eventTime", "2024-05-14T11:21:07.512+02:00")), true, true},
		{"eventTime not a date-time", mutate(t, ev, false, set("eventTime", "yesterday")), false, false},
		{"eventTime with lower-case t and z (RFC 3339 allows them, Go does not)", mutate(t, ev, false, set("eventTime", "2024-05-14t09:21:07z")), false, false},
		{"eventTime without seconds", mutate(t, ev, false, set("eventTime", "2024-05-14T09:21Z")), false, false},
		{"eventTime a leap second (schema cannot tell)", mutate(t, ev, false, set("eventTime", "2016-12-31T23:59:60Z")), true, false},
		{"v 1.0 (the same number to the schema)", mutate(t, ev, false, set("v", num("1.0"))), true, false},
		{"forwardedAt a Unix time", mutate(t, ev, false, set("forwardedAt", num("1715678468"))), false, false},
		{"etag null (the worker reads it as empty)", mutate(t, ev, false, set("etag", nil)), false, true},
		// Go's encoding/json matches names case-insensitively and the last one wins: this record
		// would be read with key "other.jpg" (and then fail the id check).
		{"a field name in another case", append(bytes.TrimSuffix(mutate(t, ev, false, func(map[string]any) {}), []byte("}")), []byte(`,"KEY":"other.jpg"}`)...), false, false},
		{"not an object", []byte(`[1]`), false, false},
		{"not JSON", []byte(`{"v":1,`), false, false},
	}...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			serr := v.Validate(tc.body)
			if (serr == nil) != tc.schema {
				t.Errorf("schema: error %v, want accepted=%v\n%s", serr, tc.schema, clip(tc.body))
			}
			if serr != nil && !errors.Is(serr, ErrInvalid) {
				t.Errorf("schema error %v does not wrap ErrInvalid", serr)
			}
			_, derr := envelope.Decode(tc.body)
			if (derr == nil) != tc.decode {
				t.Errorf("envelope.Decode: error %v, want accepted=%v\n%s", derr, tc.decode, clip(tc.body))
			}
		})
	}
}

// TestUnknownVersionIsAVersionError: a record the schema rejects only for its version is one the
// worker dead-letters as unknown_schema_version (a *envelope.VersionError), not as a bad envelope.
func TestUnknownVersionIsAVersionError(t *testing.T) {
	v := newValidator(t)
	body := mutate(t, fullEvent(t), false, func(m map[string]any) { m["v"] = json.Number("2") })
	if err := v.Validate(body); err == nil {
		t.Fatal("the schema accepts version 2")
	}
	var ve *envelope.VersionError
	if _, err := envelope.Decode(body); !errors.As(err, &ve) || ve.Got != 2 {
		t.Fatalf("Decode error %v, want a *envelope.VersionError for 2", err)
	}
}

func clip(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}

// TestDocumentedExample keeps the example of docs/envelope.md a valid record: the schema accepts
// it, the worker decodes it, and its partition key is the one the page states.
func TestDocumentedExample(t *testing.T) {
	page, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "envelope.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(page), "```json\n")
	example, rest, ok2 := strings.Cut(rest, "\n```")
	_, pkLine, ok3 := strings.Cut(rest, "Its partition key is `")
	pk, _, ok4 := strings.Cut(pkLine, "`")
	if !ok || !ok2 || !ok3 || !ok4 {
		t.Fatal("docs/envelope.md: no ```json example followed by \"Its partition key is `...`\"")
	}
	if err := newValidator(t).Validate([]byte(example)); err != nil {
		t.Errorf("the example does not match the schema: %v", err)
	}
	ev, err := envelope.Decode([]byte(example))
	if err != nil {
		t.Fatalf("the worker would dead-letter the example: %v", err)
	}
	if ev.PartitionKey() != pk {
		t.Errorf("the example's partition key is %q, the page says %q", ev.PartitionKey(), pk)
	}
}
