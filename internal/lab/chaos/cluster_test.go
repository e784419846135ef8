package chaos

import "testing"

// TestHookRunsOnce: an armed hook runs its fn at the next event only; arming replaces, nil
// disarms.
func TestHookRunsOnce(t *testing.T) {
	var h hook
	calls := map[string]int{}
	h.fire() // nothing armed: nothing runs
	h.arm(func() { calls["first"]++ })
	h.arm(func() { calls["second"]++ })
	if !h.armed() {
		t.Fatal("not armed after arm")
	}
	h.fire()
	h.fire()
	if calls["first"] != 0 || calls["second"] != 1 || h.armed() {
		t.Fatalf("calls %v, armed %v; want only the second fn, once, then disarmed", calls, h.armed())
	}
	h.arm(func() { calls["third"]++ })
	h.arm(nil)
	h.fire()
	if calls["third"] != 0 {
		t.Fatal("a disarmed fn ran")
	}
}
