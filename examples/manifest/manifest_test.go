package main

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shardline/shardline/processor"
)

const (
	inBucket  = "photos-in"
	outBucket = "photos-manifests"
	inKey     = "2026/red flower.jpg"
	prefix    = "manifests/"
	// manifestAt is where the handler keeps the manifest of inBucket/inKey.
	manifestAt = prefix + inBucket + "/" + inKey + ".json"
)

var (
	t1 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	t2 = time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)

	v1 = object{body: []byte("first"), etag: "e1", contentType: "image/jpeg", lastModified: t1, versionID: "v1"}
	v2 = object{body: []byte("second version"), etag: "e2", contentType: "image/jpeg", lastModified: t2, versionID: "v2"}
)

// manifestOf is the manifest that describes o as the current state of inBucket/inKey.
func manifestOf(o object) Manifest {
	return Manifest{
		Bucket: inBucket, Key: inKey, Size: int64(len(o.body)), ETag: o.etag,
		ContentType: o.contentType, LastModified: o.lastModified, VersionID: o.versionID,
	}
}

// event is an event of inBucket/inKey as a notification describes it, which may be out of date.
func event(op string) processor.Event {
	return processor.Event{V: 1, Bucket: inBucket, Key: inKey, Op: op, Sequencer: "0055AED6DCD90281E500000000000000", ETag: "e0", Size: 1}
}

// storeWith returns a store holding input (if not nil) as inBucket/inKey and manifest (if not
// nil) as its manifest.
func storeWith(t *testing.T, input *object, manifest *Manifest) *fakeStore {
	t.Helper()
	f := newFakeStore()
	if input != nil {
		f.set(inBucket, inKey, *input)
	}
	if manifest != nil {
		body, err := json.Marshal(manifest)
		if err != nil {
			t.Fatal(err)
		}
		f.set(outBucket, manifestAt, object{body: body, etag: "old-manifest", contentType: "application/json", lastModified: t1})
	}
	return f
}

// storedManifest returns the manifest in f, or nil if there is none.
func storedManifest(t *testing.T, f *fakeStore) *Manifest {
	t.Helper()
	o, ok := f.get(outBucket, manifestAt)
	if !ok {
		return nil
	}
	if o.contentType != "application/json" {
		t.Errorf("manifest content type %q, want application/json", o.contentType)
	}
	var m Manifest
	if err := json.Unmarshal(o.body, &m); err != nil {
		t.Fatalf("manifest %s: %v", o.body, err)
	}
	return &m
}

func ptr[T any](v T) *T { return &v }

func TestHandle(t *testing.T) {
	tests := []struct {
		name     string
		input    *object   // the input now; nil: it does not exist
		manifest *Manifest // the manifest before; nil: none
		op       string
		fail     map[string]int
		want     *Manifest // the manifest after; nil: none
		reason   string    // the error's permanent reason; "" with transient: a transient error
		// transient: Handle fails with a transient error.
		transient bool
	}{
		{
			name: "put writes the input's current metadata, not the notification's", input: &v2, op: processor.OpPut,
			want: ptr(manifestOf(v2)),
		},
		{
			name: "put replaces the manifest of an older version", input: &v2, manifest: ptr(manifestOf(v1)), op: processor.OpPut,
			want: ptr(manifestOf(v2)),
		},
		{
			// A versioned bucket: a version was deleted, or the object was uploaded again, and
			// the input still exists. The manifest follows the input, not the event.
			name: "delete while the input exists keeps the manifest and updates it", input: &v2, manifest: ptr(manifestOf(v1)),
			op: processor.OpDelete, want: ptr(manifestOf(v2)),
		},
		{
			name: "delete of a gone input removes the manifest", manifest: ptr(manifestOf(v1)), op: processor.OpDelete,
		},
		{
			name: "put of an input gone since removes the manifest", manifest: ptr(manifestOf(v2)), op: processor.OpPut,
		},
		{
			name: "input and manifest gone: nothing to do", op: processor.OpDelete,
		},
		{
			name: "access denied on the input is permanent and leaves the manifest", input: &v2, manifest: ptr(manifestOf(v1)),
			op: processor.OpPut, fail: map[string]int{"HeadObject " + inBucket + "/" + inKey: http.StatusForbidden},
			want: ptr(manifestOf(v1)), reason: ReasonAccessDenied,
		},
		{
			name: "access denied writing the manifest is permanent", input: &v2, op: processor.OpPut,
			fail:   map[string]int{"PutObject " + outBucket + "/" + manifestAt: http.StatusForbidden},
			reason: ReasonAccessDenied,
		},
		{
			name: "a throttled read of the input is transient", input: &v2, manifest: ptr(manifestOf(v1)), op: processor.OpPut,
			fail: map[string]int{"HeadObject " + inBucket + "/" + inKey: http.StatusServiceUnavailable},
			want: ptr(manifestOf(v1)), transient: true,
		},
		{
			name: "a failed delete of the manifest is transient", manifest: ptr(manifestOf(v1)), op: processor.OpDelete,
			fail: map[string]int{"DeleteObject " + outBucket + "/" + manifestAt: http.StatusInternalServerError},
			want: ptr(manifestOf(v1)), transient: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store := storeWith(t, tc.input, tc.manifest)
			store.fail = tc.fail
			h := &Manifests{Store: store, OutputBucket: outBucket, Prefix: prefix}

			err := h.Handle(t.Context(), event(tc.op))
			checkError(t, err, tc.reason, tc.transient)
			got := storedManifest(t, store)
			if !sameManifest(got, tc.want) {
				t.Fatalf("manifest after Handle = %+v, want %+v", got, tc.want)
			}
			if err != nil {
				return
			}
			// Idempotent: a second call (a duplicate, or the processor's repair) leaves the same.
			if err := h.Handle(t.Context(), event(tc.op)); err != nil {
				t.Fatalf("second Handle: %v", err)
			}
			if again := storedManifest(t, store); !sameManifest(again, tc.want) {
				t.Fatalf("manifest after a second Handle = %+v, want %+v", again, tc.want)
			}
			// What Handle leaves, Verify accepts.
			if ok, err := h.Verify(t.Context(), event(tc.op)); err != nil || !ok {
				t.Fatalf("Verify after Handle = %v, %v; want true, nil", ok, err)
			}
		})
	}
}

func TestHandleRefusesAKeyWhoseManifestKeyIsTooLong(t *testing.T) {
	store := newFakeStore()
	long := strings.Repeat("k", maxKeyBytes-len(prefix+inBucket+"/")-len(".json")+1)
	store.set(inBucket, long, v1)
	h := &Manifests{Store: store, OutputBucket: outBucket, Prefix: prefix}

	ev := event(processor.OpPut)
	ev.Key = long
	checkError(t, h.Handle(t.Context(), ev), ReasonKeyTooLong, false)
	if store.puts != 0 || store.deletes != 0 {
		t.Fatalf("Handle wrote %d and deleted %d objects, want none", store.puts, store.deletes)
	}

	// One byte shorter fits.
	ev.Key = long[1:]
	store.set(inBucket, ev.Key, v1)
	if err := h.Handle(t.Context(), ev); err != nil {
		t.Fatalf("Handle of a key whose manifest key is %d bytes: %v", maxKeyBytes, err)
	}
}

func TestVerify(t *testing.T) {
	changed := v2
	changed.lastModified = t2.Add(time.Second) // same bytes uploaded again
	tests := []struct {
		name      string
		input     *object
		manifest  *Manifest
		raw       string // manifest body instead of manifest, if set
		fail      map[string]int
		want      bool
		reason    string
		transient bool
	}{
		{name: "manifest describes the input now", input: &v2, manifest: ptr(manifestOf(v2)), want: true},
		{name: "input and manifest gone", want: true},
		{name: "manifest of an older version", input: &v2, manifest: ptr(manifestOf(v1))},
		{name: "input uploaded again with the same content", input: &changed, manifest: ptr(manifestOf(v2))},
		{name: "manifest missing", input: &v2},
		{name: "manifest left after the input is gone", manifest: ptr(manifestOf(v2))},
		{name: "manifest that is not JSON", input: &v2, raw: "{not json"},
		{name: "manifest that is not JSON, input gone", raw: "{not json"},
		{
			name: "a failed read of the input is transient", input: &v2, manifest: ptr(manifestOf(v2)),
			fail: map[string]int{"HeadObject " + inBucket + "/" + inKey: http.StatusServiceUnavailable}, transient: true,
		},
		{
			name: "access denied on the manifest is permanent", input: &v2, manifest: ptr(manifestOf(v2)),
			fail: map[string]int{"GetObject " + outBucket + "/" + manifestAt: http.StatusForbidden}, reason: ReasonAccessDenied,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store := storeWith(t, tc.input, tc.manifest)
			if tc.raw != "" {
				store.set(outBucket, manifestAt, object{body: []byte(tc.raw)})
			}
			store.fail = tc.fail
			h := &Manifests{Store: store, OutputBucket: outBucket, Prefix: prefix}

			got, err := h.Verify(t.Context(), event(processor.OpPut))
			checkError(t, err, tc.reason, tc.transient)
			if got != tc.want {
				t.Fatalf("Verify = %v, want %v", got, tc.want)
			}
			if store.puts != 0 || store.deletes != 0 {
				t.Fatalf("Verify wrote %d and deleted %d objects, want none", store.puts, store.deletes)
			}
		})
	}
}

// checkError fails t unless err is nil (reason "" and not transient), permanent with reason, or
// transient (not permanent, and marked so).
func checkError(t *testing.T, err error, reason string, transient bool) {
	t.Helper()
	switch {
	case reason != "":
		if !errors.Is(err, processor.ErrPermanent) || processor.ReasonOf(err) != reason {
			t.Fatalf("error %v (reason %q), want a permanent error with reason %q", err, processor.ReasonOf(err), reason)
		}
	case transient:
		var te *processor.TransientError
		if errors.Is(err, processor.ErrPermanent) || !errors.As(err, &te) {
			t.Fatalf("error %v, want a transient error", err)
		}
	case err != nil:
		t.Fatalf("unexpected error: %v", err)
	}
}

// sameManifest reports whether a and b are both absent or describe the same state.
func sameManifest(a, b *Manifest) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.matches(*b)
}
