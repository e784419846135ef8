package processor

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go"
	chk "github.com/vmware/vmware-go-kcl-v2/clientlibrary/checkpoint"
)

func TestAssess(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	b := bounds{NotReadyAfter: 10 * time.Second, NotLiveAfter: 60 * time.Second}
	ago := func(d time.Duration) time.Time { return t0.Add(-d) }
	started := ago(5 * time.Minute)
	tests := []struct {
		name        string
		s           signals
		live, ready bool
		reason      string // a substring of the reason
	}{
		{"not started yet", signals{}, true, false, "starting"},
		{"started, no sync yet", signals{Started: ago(2 * time.Second)}, true, false, "no shard sync yet"},
		{"never synced past the live bound", signals{Started: ago(61 * time.Second), LeaseTable: ago(time.Second)}, false, false, "no successful shard sync (ListShards) for 1m1s"},
		{"holds leases", signals{Started: started, ShardSync: ago(3 * time.Second), LeaseTable: ago(time.Second), Held: 2}, true, true, "holds 2 lease(s)"},
		{"standby: nothing free", signals{Started: started, ShardSync: ago(3 * time.Second), LeaseTable: ago(time.Second)}, true, true, "standby"},
		{"no lease while some are free", signals{Started: started, ShardSync: ago(3 * time.Second), LeaseTable: ago(time.Second), Free: 3}, true, false, "holds no lease while 3 shard(s) are free"},
		{"sync stale: not ready", signals{Started: started, ShardSync: ago(11 * time.Second), LeaseTable: ago(time.Second), Held: 2}, true, false, "stream not reached"},
		{"sync at the ready bound: ready", signals{Started: started, ShardSync: ago(10 * time.Second), LeaseTable: ago(time.Second), Held: 1}, true, true, "ready"},
		{"sync stale past the live bound: stuck", signals{Started: started, ShardSync: ago(61 * time.Second), LeaseTable: ago(time.Second), Held: 2}, false, false, "stuck: no successful shard sync"},
		{"lease table stale: not ready", signals{Started: started, ShardSync: ago(time.Second), LeaseTable: ago(20 * time.Second), Held: 1}, true, false, "lease table not reached"},
		{"lease table stale past the live bound: stuck", signals{Started: started, ShardSync: ago(time.Second), LeaseTable: ago(2 * time.Minute)}, false, false, "stuck: no successful lease-table call for 2m0s"},
		{"no lease-table call yet", signals{Started: ago(2 * time.Second), ShardSync: ago(time.Second)}, true, false, "no lease-table call yet"},
		{"shutting down, signals stale", signals{Started: started, Stopping: true, ShardSync: ago(5 * time.Minute)}, true, false, "shutting down"},
		{"shutting down, healthy", signals{Started: started, Stopping: true, ShardSync: ago(time.Second), LeaseTable: ago(time.Second), Held: 1}, true, false, "shutting down"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.s.Now = t0
			st := assess(tc.s, b)
			if st.Live != tc.live || st.Ready != tc.ready {
				t.Errorf("live %v ready %v, want %v %v (%s)", st.Live, st.Ready, tc.live, tc.ready, st.Reason)
			}
			if !strings.Contains(st.Reason, tc.reason) {
				t.Errorf("reason %q does not say %q", st.Reason, tc.reason)
			}
			if st.Details["leasesHeld"] != tc.s.Held || st.Details["leasesFree"] != tc.s.Free {
				t.Errorf("details %v", st.Details)
			}
		})
	}
}

// TestHealthZeroValue: a Health that Run has not started yet is live and not ready.
func TestHealthZeroValue(t *testing.T) {
	var h Health
	if st := h.Health(); !st.Live || st.Ready || !strings.Contains(st.Reason, "starting") {
		t.Fatalf("zero Health: %+v", st)
	}
}

// TestProgressFree: a shard is free to take when it is not finished and no live worker holds it;
// one this worker holds is not free.
func TestProgressFree(t *testing.T) {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	p := &progress{worker: "me", shards: map[string]shardView{
		"no-owner":         {},
		"expired":          {owner: "other", until: now.Add(-time.Second)},
		"held-by-other":    {owner: "other", until: now.Add(time.Second)},
		"mine":             {owner: "me", until: now.Add(time.Second)},
		"finished":         {finished: true},
		"finished-expired": {owner: "other", until: now.Add(-time.Hour), finished: true},
		"child-of-held":    {parent: "held-by-other"},   // waits for its parent: not free yet
		"child-of-done":    {parent: "finished"},        // free
		"child-of-unknown": {parent: "left-the-stream"}, // free
	}}
	s := signals{Now: now}
	p.mu.Lock()
	p.countFree(&s)
	p.mu.Unlock()
	if s.Free != 4 {
		t.Fatalf("free %d, want 4 (no-owner, expired, child-of-done, child-of-unknown)", s.Free)
	}
}

// TestProgressTableCall: the library's "nothing there" answers mean the table answered; other
// errors do not.
func TestProgressTableCall(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{nil, true},
		{chk.ErrSequenceIDNotFound, true},
		{chk.ErrShardNotAssigned, true},
		{chk.NoLeaseOwnerErr, true},
		{errors.New("dial tcp: connection refused"), false},
	} {
		p := &progress{now: time.Now}
		if got := p.tableCall(tc.err); got != tc.want || p.leaseTable.IsZero() == tc.want {
			t.Errorf("tableCall(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// TestPreflight: a missing resource is an error naming it and saying how to create it; an
// unreachable one is an error too; a check the worker may not make is skipped.
func TestPreflight(t *testing.T) {
	notFound := &smithy.GenericAPIError{Code: "ResourceNotFoundException", Message: "Stream s not found"}
	denied := &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "not authorized to DescribeTable"}
	ok := func(context.Context) error { return nil }
	fail := func(err error) func(context.Context) error { return func(context.Context) error { return err } }
	tests := []struct {
		name    string
		checks  []check
		missing bool
		say     []string
	}{
		{"all there", []check{{"stream s", ok}, {"lease table l", ok}}, false, nil},
		{"missing stream", []check{{"stream s", fail(notFound)}, {"lease table l", ok}}, true, []string{"stream s does not exist", "shardline setup"}},
		{"missing table", []check{{"stream s", ok}, {"ledger table g", fail(notFound)}}, true, []string{"ledger table g does not exist"}},
		{"unreachable", []check{{"stream s", fail(errors.New("dial tcp 127.0.0.1:1: connection refused"))}}, false, []string{"cannot reach stream s", "connection refused"}},
		{"not allowed to check", []check{{"dead-letter table d", fail(denied)}}, false, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := preflight(context.Background(), tc.checks, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if (err != nil) != (len(tc.say) > 0) {
				t.Fatalf("preflight = %v", err)
			}
			if errors.Is(err, ErrMissingResource) != tc.missing {
				t.Errorf("errors.Is(%v, ErrMissingResource) != %v", err, tc.missing)
			}
			for _, s := range tc.say {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
		})
	}
}
