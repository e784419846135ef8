package golden

import (
	"fmt"
	"testing"
)

// errorRecorder is a testing.TB that records Errorf instead of failing the test.
type errorRecorder struct {
	testing.TB
	errs []string
}

func (r *errorRecorder) Helper() {}

func (r *errorRecorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func TestCheck(t *testing.T) {
	if *update {
		t.Skip("-update rewrites the file this test compares with")
	}
	same := &errorRecorder{TB: t}
	Check(same, "example.golden", []byte("shard s-1 open\n"))
	if len(same.errs) != 0 {
		t.Errorf("equal output reported: %q", same.errs)
	}
	differs := &errorRecorder{TB: t}
	Check(differs, "example.golden", []byte("shard s-1 closed\n"))
	if len(differs.errs) != 1 {
		t.Errorf("different output: %d errors, want 1", len(differs.errs))
	}
}
