package chaos_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/shardline/shardline/internal/lab/apifault"
	"github.com/shardline/shardline/internal/lab/chaos"
	"github.com/shardline/shardline/internal/lab/emulators"
	"github.com/shardline/shardline/internal/lab/hookproxy"
)

// TestShortChaos is the short, fixed-seed chaos run of `make test`: 75 s of load on a versioned
// input bucket with every injector on (duplicates, reordering, kill -9, pauses past the lease,
// some aimed right after an input read, scaling, a split and a merge, overlapping process
// faults, AWS API faults with lost responses, operator commands), then the guarantee check and
// the accounting of records and dead letters. `make chaos` is the long run.
func TestShortChaos(t *testing.T) {
	clients := emulators.Require(t)
	bin := emulators.Shardline(t)
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	r, err := chaos.Run(ctx, clients, chaos.Config{
		Binary: bin, Seed: 7, Duration: 75 * time.Second, Keys: 60, Rate: 20, LeaseDuration: 4 * time.Second,
		CatchUp: 3 * time.Minute, Versioned: true, Webhook: hookproxy.Webhook{WebhookAddr: emulators.WebhookAddr(t)}, WebhookToken: os.Getenv("SHARDLINE_WEBHOOK_TOKEN"), LogDir: t.TempDir(),
		Out: &out, Logger: slog.New(slog.DiscardHandler),
	})
	t.Log("\n" + out.String())
	if err != nil {
		t.Fatalf("chaos: %v", err)
	}
	if len(r.Violations) != 0 {
		t.Fatalf("%d violations", len(r.Violations))
	}
	if r.Kills+r.Pauses == 0 || len(r.Reshards) < 2 {
		t.Errorf("faults not injected: kills %d pauses %d reshards %v", r.Kills, r.Pauses, r.Reshards)
	}
	if apifault.Total(r.APIFaults, apifault.KindThrottle) == 0 || apifault.Total(r.APIFaults, apifault.KindLost) == 0 {
		t.Errorf("AWS API faults not injected (throttles and lost responses): %+v", r.APIFaults)
	}
	ops := 0
	for _, n := range r.OperatorRuns {
		ops += n
	}
	if ops == 0 {
		t.Errorf("no operator command ran: %v", r.OperatorRuns)
	}
	if len(r.Accounting.Problems) != 0 {
		t.Errorf("accounting problems: %v", r.Accounting.Problems)
	}
	if r.Applied == 0 || r.Notifications < r.Puts+r.Deletes {
		t.Errorf("nothing applied or notifications missing: %+v", r)
	}
	for _, d := range r.Failovers {
		if d > 2*r.LeaseDuration+2*time.Second {
			t.Errorf("failover took %s, more than 2 × lease (%s) plus a sync interval", d, r.LeaseDuration)
		}
	}
}
