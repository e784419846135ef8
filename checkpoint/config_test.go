package checkpoint

import (
	"testing"
	"time"
)

func TestConfigDefaults(t *testing.T) {
	cases := []struct {
		name                       string
		in                         Config
		lease, margin, claim, call time.Duration
	}{
		{name: "zero: the documented defaults", lease: 10 * time.Second, margin: 2 * time.Second, claim: 30 * time.Second, call: 5 * time.Second},
		{name: "the margin and claim timeout follow the lease", in: Config{LeaseDuration: 20 * time.Second},
			lease: 20 * time.Second, margin: 4 * time.Second, claim: 60 * time.Second, call: 5 * time.Second},
		{name: "set fields are kept", in: Config{LeaseDuration: time.Second, SafetyMargin: time.Millisecond, ClaimTimeout: time.Minute, CallTimeout: time.Hour},
			lease: time.Second, margin: time.Millisecond, claim: time.Minute, call: time.Hour},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.in.withDefaults()
			if got.LeaseDuration != tc.lease || got.SafetyMargin != tc.margin || got.ClaimTimeout != tc.claim || got.CallTimeout != tc.call {
				t.Errorf("lease %v margin %v claim %v call %v, want %v %v %v %v",
					got.LeaseDuration, got.SafetyMargin, got.ClaimTimeout, got.CallTimeout, tc.lease, tc.margin, tc.claim, tc.call)
			}
			if got.Logger == nil || got.Now == nil {
				t.Error("no default logger or clock")
			}
		})
	}
}
