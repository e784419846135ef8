package processor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func validConfig() recordConfig {
	return recordConfig{
		Handler: &fakeHandler{}, Ledger: newFakeLedger(), DeadLetters: &fakeDeadLetters{},
		Leases: &fakeLeases{}, WorkerID: testWorker,
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(c *recordConfig)
		wantErr string // substring; "" for valid
	}{
		{"valid", func(*recordConfig) {}, ""},
		{"valid with retry values", func(c *recordConfig) { c.Retry = Retry{MaxAttempts: 1, Base: time.Millisecond, Max: time.Second} }, ""},
		{"no handler", func(c *recordConfig) { c.Handler = nil }, "Handler"},
		{"no ledger", func(c *recordConfig) { c.Ledger = nil }, "Ledger"},
		{"no dead letters", func(c *recordConfig) { c.DeadLetters = nil }, "DeadLetters"},
		{"no leases", func(c *recordConfig) { c.Leases = nil }, "Leases"},
		{"no worker ID", func(c *recordConfig) { c.WorkerID = "" }, "WorkerID"},
		{"negative attempts", func(c *recordConfig) { c.Retry.MaxAttempts = -1 }, "negative"},
		{"negative base", func(c *recordConfig) { c.Retry.Base = -time.Millisecond }, "negative"},
		{"negative max", func(c *recordConfig) { c.Retry.Max = -time.Millisecond }, "negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig()
			tc.mutate(&c)
			err := c.Validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				if _, err := newFactory(context.Background(), c); err != nil {
					t.Fatalf("newFactory = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Validate() = %v, want an error mentioning %q", err, tc.wantErr)
			}
			if f, err := newFactory(context.Background(), c); err == nil || f != nil {
				t.Fatalf("newFactory = %v, %v; want nil and an error", f, err)
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	c := validConfig().withDefaults()
	if c.Retry != (Retry{MaxAttempts: 8, Base: 100 * time.Millisecond, Max: 5 * time.Second}) {
		t.Errorf("default Retry = %+v", c.Retry)
	}
	if c.Registerer == nil || c.Logger == nil {
		t.Errorf("default Registerer %v, Logger %v: want both set", c.Registerer, c.Logger)
	}
	set := recordConfig{Retry: Retry{MaxAttempts: 2, Base: time.Millisecond, Max: 3 * time.Millisecond}}.withDefaults()
	if set.Retry != (Retry{MaxAttempts: 2, Base: time.Millisecond, Max: 3 * time.Millisecond}) {
		t.Errorf("explicit Retry changed to %+v", set.Retry)
	}
}

// TestMetricsRegistered registers every metric on the injected registry, with the four outcomes
// exported from the start, and lets two factories use two registries.
func TestMetricsRegistered(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := validConfig()
	c.Registerer = reg
	if _, err := newFactory(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if n, err := testutil.GatherAndCount(reg, mRecords); err != nil || n != 5 {
		t.Errorf("%s series = %d (%v), want 5 (one per outcome, exported at zero)", mRecords, n, err)
	}
	assertMetric(t, reg, mRecords, outcomes(0, 0, 0, 0))
	for _, name := range []string{mConflicts, mRetries, mShards} {
		if n, err := testutil.GatherAndCount(reg, name); err != nil || n != 1 {
			t.Errorf("%s series = %d (%v), want 1", name, n, err)
		}
	}
	c.Registerer = prometheus.NewRegistry()
	if _, err := newFactory(context.Background(), c); err != nil {
		t.Fatalf("second factory on its own registry: %v", err)
	}
	c.Registerer = nil
	if _, err := newFactory(context.Background(), c); err != nil {
		t.Fatalf("factory with the default private registry: %v", err)
	}
}

func TestPermanentError(t *testing.T) {
	cause := errors.New("bad magic")
	tests := []struct {
		name       string
		err        error
		permanent  bool
		reason     string
		wantText   string
		wantCauses bool
	}{
		{"Permanent", Permanent("not_an_image", cause), true, "not_an_image", "not_an_image: bad magic", true},
		{"wrapped Permanent", fmt.Errorf("s3://in/a.jpg: %w", Permanent("too_large", cause)), true, "too_large", "s3://in/a.jpg: too_large: bad magic", true},
		{"Permanent without cause", Permanent("empty_object", nil), true, "empty_object", "empty_object", false},
		{"plain error", cause, false, "", "bad magic", true},
		{"nil", nil, false, "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := errors.Is(tc.err, ErrPermanent); got != tc.permanent {
				t.Errorf("errors.Is(err, ErrPermanent) = %v, want %v", got, tc.permanent)
			}
			if got := ReasonOf(tc.err); got != tc.reason {
				t.Errorf("ReasonOf = %q, want %q", got, tc.reason)
			}
			if tc.err != nil && tc.err.Error() != tc.wantText {
				t.Errorf("Error() = %q, want %q", tc.err.Error(), tc.wantText)
			}
			if got := errors.Is(tc.err, cause); got != tc.wantCauses {
				t.Errorf("errors.Is(err, cause) = %v, want %v", got, tc.wantCauses)
			}
		})
	}
}

// TestWorkersSharingARegistryCountTogether: two workers in one process on the same registry
// (prometheus.DefaultRegisterer, say) used to panic on the second MustRegister; now the second
// uses the first one's collectors and both count into the same series.
func TestWorkersSharingARegistryCountTogether(t *testing.T) {
	reg := prometheus.NewRegistry()
	shared := func(c *recordConfig) { c.Registerer = reg }
	a, b := newHarness(t, shared), newHarness(t, shared)
	a.process(a.put("a", "01"))
	b.process(b.put("b", "01"))
	assertMetric(t, reg, mRecords, outcomes(2, 0, 0, 0))
}
