package testkit

import (
	"testing"
	"time"
)

// Eventually polls cond every interval until it returns true or timeout passes, then fails the
// test with msg (formatted with args); a zero interval means 10ms. It is the one way tests wait for something to happen.
func Eventually(t testing.TB, timeout, interval time.Duration, cond func() bool, msg string, args ...any) {
	t.Helper()
	if interval <= 0 {
		interval = 10 * time.Millisecond
	}
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s: "+msg, append([]any{timeout}, args...)...)
		}
		<-tick.C
	}
}
