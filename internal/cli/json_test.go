package cli

import (
	"bytes"
	"context"
	"encoding"
	"encoding/json"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shardline/shardline/internal/lab/golden"
	"github.com/shardline/shardline/internal/ledgerreset"
	"github.com/shardline/shardline/internal/reconcile"
	"github.com/shardline/shardline/internal/redrive"
	"github.com/shardline/shardline/internal/replay"
	"github.com/shardline/shardline/internal/reprocess"
	"github.com/shardline/shardline/internal/status"
)

// jsonOutputs are the types each command with --json prints (status prints a Report per sample).
var jsonOutputs = map[string]any{
	"status":          status.Report{},
	"reprocess":       reprocess.Result{},
	"redrive":         redrive.Result{},
	"reconcile":       reconcile.Result{},
	"ledger":          ledgerreset.Result{},
	"replay-failures": replay.Result{},
}

// jsonName is the one casing of every --json output: lowerCamelCase ("shardId", "inSync",
// "inputETag").
var jsonName = regexp.MustCompile(`^[a-z][a-zA-Z0-9]*$`)

// TestJSONOutputsAreListed keeps jsonOutputs complete: every command with a --json flag is in it.
func TestJSONOutputsAreListed(t *testing.T) {
	for _, c := range commands() {
		env, _, errOut := testEnv(nil)
		if code := Main(context.Background(), []string{c.Name, "-h"}, env); code != 0 {
			continue
		}
		if strings.Contains(errOut.String(), "\n  -json") {
			if _, ok := jsonOutputs[c.Name]; !ok {
				t.Errorf("%s has --json: add the type it prints to jsonOutputs", c.Name)
			}
		}
	}
}

// TestJSONOutputsOneCasing walks every type a --json output renders: every field has a
// lowerCamelCase json name, and no duration is a time.Duration (it would print as nanoseconds;
// durations are numbers whose name says the unit, e.g. intervalSeconds, or RFC 3339 times).
func TestJSONOutputsOneCasing(t *testing.T) {
	for name, v := range jsonOutputs {
		t.Run(name, func(t *testing.T) {
			walkJSONFields(t, reflect.TypeOf(v), reflect.TypeOf(v).String(), map[reflect.Type]bool{})
		})
	}
}

var (
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
	durationType  = reflect.TypeFor[time.Duration]()
)

func marshalsItself(t reflect.Type) bool {
	return t.Implements(jsonMarshaler) || t.Implements(textMarshaler) ||
		reflect.PointerTo(t).Implements(jsonMarshaler) || reflect.PointerTo(t).Implements(textMarshaler)
}

func walkJSONFields(t *testing.T, typ reflect.Type, path string, seen map[reflect.Type]bool) {
	t.Helper()
	if typ == durationType {
		t.Errorf("%s is a time.Duration: print seconds (a number named …Seconds) or a string", path)
		return
	}
	if marshalsItself(typ) || seen[typ] {
		return
	}
	switch typ.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array:
		walkJSONFields(t, typ.Elem(), path+"[]", seen)
	case reflect.Map:
		walkJSONFields(t, typ.Elem(), path+"{}", seen)
	case reflect.Struct:
		seen[typ] = true
		for i := range typ.NumField() {
			f := typ.Field(i)
			if !f.IsExported() {
				continue
			}
			tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if tag == "-" {
				continue
			}
			if f.Anonymous && tag == "" {
				walkJSONFields(t, f.Type, path, seen) // promoted fields
				continue
			}
			if !jsonName.MatchString(tag) {
				t.Errorf("%s.%s: json name %q is not lowerCamelCase", path, f.Name, tag)
			}
			walkJSONFields(t, f.Type, path+"."+tag, seen)
		}
	}
}

// TestJSONOutputsNeverNull prints every output type empty (its zero value) and full (every
// pointer set, every list and map with one empty element), and finds no null: an empty list is [].
func TestJSONOutputsNeverNull(t *testing.T) {
	for name, v := range jsonOutputs {
		t.Run(name, func(t *testing.T) {
			for _, c := range []struct {
				what string
				v    any
			}{{"empty", v}, {"full", full(reflect.TypeOf(v), 0).Interface()}} {
				var buf bytes.Buffer
				if err := opsJSON(&buf, c.v, true); err != nil {
					t.Fatal(err)
				}
				if bytes.Contains(buf.Bytes(), []byte("null")) {
					t.Errorf("%s %s prints null:\n%s", c.what, name, &buf)
				}
			}
		})
	}
}

// full returns a value of typ whose pointers are set and whose slices and maps hold one element,
// themselves full, down to a bounded depth.
func full(typ reflect.Type, depth int) reflect.Value {
	v := reflect.New(typ).Elem()
	if depth > 6 || marshalsItself(typ) {
		return v
	}
	switch typ.Kind() {
	case reflect.Pointer:
		p := reflect.New(typ.Elem())
		p.Elem().Set(full(typ.Elem(), depth+1))
		v.Set(p)
	case reflect.Slice:
		v.Set(reflect.Append(reflect.MakeSlice(typ, 0, 1), full(typ.Elem(), depth+1)))
	case reflect.Map:
		m := reflect.MakeMap(typ)
		m.SetMapIndex(reflect.New(typ.Key()).Elem(), full(typ.Elem(), depth+1))
		v.Set(m)
	case reflect.Struct:
		for i := range typ.NumField() {
			if typ.Field(i).IsExported() {
				v.Field(i).Set(full(typ.Field(i).Type, depth+1))
			}
		}
	}
	return v
}

// TestJSONGolden pins the --json output of each command: the fixtures of the text goldens, then
// the empty result (lists print as []).
func TestJSONGolden(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	expires := at.Add(7 * time.Second)
	rate := 3.2
	statusFixture := status.Report{Stream: "shardline-events", At: at, Interval: 5,
		Shards: []status.Shard{{ID: "shardId-000000000001", State: "open", Parents: []string{"shardId-000000000000"}, HashKeyStart: "0",
			HashKeyEnd: "340282366920938463463374607431768211455", HashShare: 1, Owner: "worker-a", LeaseLive: true, LeaseExpires: &expires,
			LeaseCounter: 40, Checkpoint: "49671258393720983455327346829403761925939185416757444626",
			Lag: &status.Lag{Records: 12, BehindSeconds: 1.25, MillisBehindLatest: 1250}, IncomingPerSecond: &rate, ProcessedPerSecond: &rate}},
		Workers: []status.Worker{{ID: "worker-a", Shards: []string{"shardId-000000000001"}}},
	}
	var ledgerResets []any
	for _, c := range ledgerResetFixtures(t) {
		ledgerResets = append(ledgerResets, c.res)
	}
	tests := []struct {
		golden string
		values []any
	}{
		{"status.json.golden", []any{statusFixture, status.Report{Stream: "shardline-events", At: at}}},
		{"reprocess.json.golden", []any{reprocessFixture(), reprocess.Result{}}},
		{"redrive.json.golden", []any{redriveFixture(), redrive.Result{}}},
		{"reconcile.json.golden", []any{reconcileFixture(), reconcile.Result{}}},
		{"ledger_reset.json.golden", ledgerResets},
	}
	for _, tc := range tests {
		t.Run(tc.golden, func(t *testing.T) {
			var buf bytes.Buffer
			for _, v := range tc.values {
				if err := opsJSON(&buf, v, true); err != nil {
					t.Fatal(err)
				}
			}
			golden.Check(t, tc.golden, buf.Bytes())
		})
	}
}
