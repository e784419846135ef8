package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/shardline/shardline/internal/lab/golden"
	"github.com/shardline/shardline/internal/lab/pipelinetest"
	"github.com/shardline/shardline/internal/lab/testkit"
	"github.com/shardline/shardline/internal/reprocess"
)

func TestWriteReprocessGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := writeReprocess(&buf, reprocessFixture(), false); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "reprocess.golden", buf.Bytes())
}

// reprocessFixture is a reprocess from a time with an epoch bump over three shards.
func reprocessFixture() reprocess.Result {
	return reprocess.Result{
		From: "2026-03-01T12:00:00Z", Rewound: 2, EpochBumped: true, EpochBefore: 3, EpochAfter: 4,
		Changes: []reprocess.Change{
			{Shard: "shardId-000000000000", From: "SHARD_END", To: "49671258393720983455327346829403761925939185416757444626", Rewind: true, Why: "replay from the first record at or after 2026-03-01T12:00:00Z"},
			{Shard: "shardId-000000000001", From: "49671258393720983455327346829403761925939185416757444999", To: "", Rewind: true, Why: "the first record at or after 2026-03-01T12:00:00Z is the shard's oldest record"},
			{Shard: "shardId-000000000002", From: "", To: "", Why: "no checkpoint yet: already reads from TRIM_HORIZON"},
		},
	}
}

func TestReprocessCommand(t *testing.T) {
	runMain(t, context.Background(), []mainCase{
		{"without --from", []string{"reprocess"}, nil, 2, []string{"--from is required"}},
		{"bad --from", []string{"reprocess", "--from", "yesterday"}, nil, 2, []string{"trim-horizon, an RFC 3339 time"}},
	})

	p := pipelinetest.New(t, 1)
	p.Send(p.Event("a.jpg", "delete", pipelinetest.Seq(1), ""))
	w := p.StartWorker(pipelinetest.WorkerOptions{ID: "busy-worker"})
	w.WaitFinished(1)
	testkit.Eventually(t, 30*time.Second, 100*time.Millisecond, func() bool {
		rows := p.LeaseRows()
		return len(rows) == 1 && rows[0].Checkpoint != ""
	}, "no checkpoint")
	env, out, errOut := testEnv(p.Env())
	code := Main(context.Background(), []string{"reprocess", "--from", "trim-horizon", "--epoch-bump"}, env)
	if code != 1 {
		t.Fatalf("with a live lease: exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"refusing to rewind", "held by busy-worker", "stop every worker", "--force-after-stop"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("refusal does not say %q:\n%s", want, errOut)
		}
	}
	if err := w.Stop(); err != nil {
		t.Fatal(err)
	}
	env, out, errOut = testEnv(p.Env())
	if code := Main(context.Background(), []string{"reprocess", "--from", "trim-horizon", "--epoch-bump", "--dry-run"}, env); code != 0 {
		t.Fatalf("dry run: exit %d\n%s", code, errOut)
	}
	if !strings.Contains(out.String(), "would rewind (dry run) 1 of 1 shard") || !strings.Contains(out.String(), "would raise the ledger epoch 0 → 1") {
		t.Fatalf("dry run output:\n%s", out)
	}
	env, out, errOut = testEnv(p.Env())
	if code := Main(context.Background(), []string{"reprocess", "--from", "trim-horizon", "--epoch-bump"}, env); code != 0 {
		t.Fatalf("reprocess: exit %d\n%s", code, errOut)
	}
	if !strings.Contains(out.String(), "rewound 1 of 1 shard") || !strings.Contains(out.String(), "ledger epoch 0 → 1") {
		t.Fatalf("output:\n%s", out)
	}
	if rows := p.LeaseRows(); rows[0].Checkpoint != "" {
		t.Fatalf("checkpoint %q after a rewind to TRIM_HORIZON", rows[0].Checkpoint)
	}
}
