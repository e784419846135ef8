package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/shardline/shardline/internal/envelope"
	"github.com/shardline/shardline/internal/lab/emulators"
	"github.com/shardline/shardline/internal/lab/golden"
	"github.com/shardline/shardline/internal/lab/pipelinetest"
	"github.com/shardline/shardline/internal/ledger"
	"github.com/shardline/shardline/internal/ledgerreset"
	"github.com/shardline/shardline/internal/sequencer"
)

func TestWriteLedgerResetGolden(t *testing.T) {
	var buf bytes.Buffer
	for _, tc := range ledgerResetFixtures(t) {
		buf.WriteString("== " + tc.name + "\n")
		if err := writeLedgerReset(&buf, tc.res, tc.err, false); err != nil {
			t.Fatal(err)
		}
	}
	golden.Check(t, "ledger_reset.golden", buf.Bytes())
}

type ledgerResetCase struct {
	name string
	res  ledgerreset.Result
	err  error
}

// ledgerResetFixtures are a reset, a dry run, an object without an entry and a refused reset.
func ledgerResetFixtures(t *testing.T) []ledgerResetCase {
	t.Helper()
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	entry := &ledgerreset.Entry{Object: "in/a.jpg", Sequencer: strings.Repeat("F", sequencer.Width), Epoch: 0, Op: "put", Outcome: "applied", UpdatedAt: at, Worker: "worker-1"}
	ev, err := envelope.New(ledgerreset.Source, ledgerreset.EventName, "in-bucket", "a.jpg", envelope.OpPut, sequencer.FirstSynthetic, "", "", 0, at)
	if err != nil {
		t.Fatal(err)
	}
	return []ledgerResetCase{
		{"reset", ledgerreset.Result{Object: "in/a.jpg", Found: true, Entry: entry, Reset: true, Event: &ev, Enqueued: true}, nil},
		{"dry run", ledgerreset.Result{Object: "in/a.jpg", Found: true, Entry: entry, Event: &ev, DryRun: true}, nil},
		{"no entry", ledgerreset.Result{Object: "in/b.jpg", Event: &ev, Enqueued: true}, nil},
		{"refused", ledgerreset.Result{Object: "in/a.jpg", Found: true, Entry: entry, Event: &ev}, ledgerreset.ErrChanged},
	}
}

func TestLedgerResetCommand(t *testing.T) {
	p := pipelinetest.New(t, 1)
	ctx := context.Background()
	led := emulators.Ledger(t, p.Clients.DynamoDB, p.Ledger)
	forged := strings.Repeat("F", sequencer.Width)
	if err := led.Commit(ctx, ledger.Entry{Object: p.Input + "/a.jpg", Sequencer: forged, Op: "put", Outcome: ledger.OutcomeApplied}); err != nil {
		t.Fatal(err)
	}
	runMain(t, ctx, []mainCase{
		{"key missing", []string{"ledger", "reset", "--bucket", p.Input}, p.Env(), 2, []string{"--bucket and --key are required"}},
		{"ARN as bucket", []string{"ledger", "reset", "--bucket", "arn:aws:s3:us-east-1:123456789012:accesspoint/ap", "--key", "a.jpg"}, p.Env(), 2, []string{"an ARN is not a bucket name"}},
		{"no subcommand", []string{"ledger"}, p.Env(), 2, []string{"usage: shardline ledger reset"}},
		{"dry run", []string{"ledger", "reset", "--bucket", p.Input, "--key", "a.jpg", "--dry-run"}, p.Env(), 0, []string{"would reset the entry (dry run)"}},
		{"reset", []string{"ledger", "reset", "--bucket", p.Input, "--key", "a.jpg"}, p.Env(), 0, []string{"entry reset: every event of the object applies again"}},
		{"again: no entry, enqueues only", []string{"ledger", "reset", "--bucket", p.Input, "--key", "a.jpg"}, p.Env(), 0, []string{"ledger entry: none"}},
	})
	if e, found, err := led.Get(ctx, p.Input+"/a.jpg"); err != nil || found {
		t.Fatalf("entry after the reset: %+v, %v, %v", e, found, err)
	}
}
