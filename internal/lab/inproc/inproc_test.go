package inproc

import (
	"testing"
	"time"

	"github.com/shardline/shardline/processor"
)

// TestRunErrorReachesTheOwner: a worker whose Run fails (here: an empty, invalid Config) is done,
// and Err and Stop both return Run's error.
func TestRunErrorReachesTheOwner(t *testing.T) {
	w := Start(t.Context(), processor.Config{})
	select {
	case <-w.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return for an invalid Config")
	}
	if w.Err() == nil {
		t.Fatal("Err is nil after Run failed")
	}
	if err := w.Stop(); err != w.Err() {
		t.Fatalf("Stop = %v, want Run's error %v", err, w.Err())
	}
}
