package cli

import (
	"context"
	"testing"
	"time"

	"github.com/shardline/shardline/internal/deadletter"
	"github.com/shardline/shardline/internal/envelope"
	"github.com/shardline/shardline/internal/lab/emulators"
	"github.com/shardline/shardline/internal/lab/pipelinetest"
	"github.com/shardline/shardline/internal/lab/testkit"
	"github.com/shardline/shardline/internal/ledger"
)

// TestWorkExpiryFlags: `work --ledger-tombstone-ttl --dead-letter-ttl` reach the stores: the
// tombstone of a delete and the letter of a refused event carry expires_at ≈ now + the flag.
func TestWorkExpiryFlags(t *testing.T) {
	p := pipelinetest.New(t, 1)
	deleted := p.Event("gone.jpg", envelope.OpDelete, pipelinetest.Seq(5), "")
	foreign, err := envelope.New("aws:s3", "ObjectCreated:Put", "not-an-input-bucket", "x.jpg", envelope.OpPut, pipelinetest.Seq(6), "etag", "", 1, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	p.Send(deleted, foreign)

	ctx, cancel := context.WithCancel(context.Background())
	env, _, errOut := testEnv(p.Env())
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"work", "--output-bucket", p.Output, "--input-buckets", p.Input, "--metrics-addr", "",
			"--shard-sync-interval", "300ms", "--idle-between-reads", "100ms", "--lease-duration", "4s",
			"--ledger-tombstone-ttl", "2h", "--dead-letter-ttl", "3h"}, env)
	}()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("work exited %d\n%s", code, errOut)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("work did not stop within 30s")
		}
	}
	t.Cleanup(stop)

	led := emulators.Ledger(t, p.Clients.DynamoDB, p.Ledger)
	letters := emulators.DeadLetters(t, p.Clients.DynamoDB, p.DeadLetters)
	var (
		tomb   ledger.Entry
		letter deadletter.Letter
	)
	testkit.Eventually(t, 60*time.Second, 100*time.Millisecond, func() bool {
		e, found, err := led.Get(ctx, deleted.ObjectID())
		if err != nil || !found {
			return false
		}
		ls, err := letters.List(ctx)
		if err != nil || len(ls) == 0 {
			return false
		}
		tomb, letter = e, ls[0]
		return true
	}, "no tombstone for %s and dead letter for the foreign bucket", deleted.ObjectID())
	stop()

	near := func(what string, got time.Time, ttl time.Duration) {
		t.Helper()
		if want := time.Now().Add(ttl); got.Before(want.Add(-time.Minute)) || got.After(want.Add(time.Second)) {
			t.Errorf("%s expires at %s, want ≈ now + %s (%s)", what, got, ttl, want)
		}
	}
	if !ledger.IsTombstone(tomb) {
		t.Fatalf("ledger entry %+v is not a tombstone", tomb)
	}
	near("the tombstone", tomb.ExpiresAt, 2*time.Hour)
	near("the dead letter", letter.ExpiresAt, 3*time.Hour)
}
