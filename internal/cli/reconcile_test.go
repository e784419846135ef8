package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/shardline/shardline/internal/lab/golden"
	"github.com/shardline/shardline/internal/lab/pipelinetest"
	"github.com/shardline/shardline/internal/reconcile"
)

func TestWriteReconcileGolden(t *testing.T) {
	cfg := reconcile.Config{InputBucket: "photos", OutputBucket: "photos-gray", OutputPrefix: "gray/", Fix: true}
	var buf bytes.Buffer
	if err := writeReconcile(&buf, cfg, reconcileFixture(), false); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "reconcile.golden", buf.Bytes())
}

// reconcileFixture is a reconcile --fix with one problem of each kind.
func reconcileFixture() reconcile.Result {
	return reconcile.Result{
		Progress: reconcile.Progress{Inputs: 31, Outputs: 29, Checked: 28, Enqueued: 3},
		InSync:   27,
		Problems: []reconcile.Problem{
			{Key: "a.jpg", Kind: reconcile.Missing, InputETag: "9b2cf535f27731c974343645a3985328", Fix: "put", Sequencer: "00000000000000000000000000000001"},
			{Key: "b.jpg", Kind: reconcile.Stale, InputETag: "5d41402abc4b2a76b9719d911017c592", SourceETag: "7d793037a0760186574b0282f2f435e7", Fix: "put", Sequencer: "0062E5E4C5D8B3A9D100000000000001"},
			{Key: "gone.jpg", Kind: reconcile.Orphaned, SourceETag: "", Fix: "delete", Sequencer: "0062E5E4C5D8B3AA0000000000000001"},
			{Key: "notes.txt", Kind: reconcile.DeadLettered, InputETag: "e2fc714c4727ee9395f324cd2e7f331f"},
		},
	}
}

func TestReconcileCommand(t *testing.T) {
	env, _, errOut := testEnv(nil)
	if code := Main(context.Background(), []string{"reconcile", "--bucket", "x"}, env); code != 2 || !strings.Contains(errOut.String(), "--bucket and --output are required") {
		t.Fatalf("without --output: exit %d\n%s", code, errOut)
	}
	p := pipelinetest.New(t, 1)
	p.PutInput("a.jpg", pipelinetest.JPEG(t, 1))
	env, out, errOut := testEnv(p.Env())
	if code := Main(context.Background(), []string{"reconcile", "--bucket", p.Input, "--output", p.Output, "--json"}, env); code != exitAttention || !strings.Contains(errOut.String(), "1 key out of sync (run with --fix to repair)") {
		t.Fatalf("reconcile with a missing output: exit %d, want 3\n%s", code, errOut)
	}
	var res reconcile.Result
	if err := json.Unmarshal(out.Bytes(), &res); err != nil || len(res.Problems) != 1 || res.Problems[0].Kind != reconcile.Missing {
		t.Fatalf("result %+v, %v\n%s", res, err, out)
	}
	env, out, errOut = testEnv(p.Env())
	if code := Main(context.Background(), []string{"reconcile", "--bucket", p.Input, "--output", p.Output, "--fix"}, env); code != 0 {
		t.Fatalf("reconcile --fix: exit %d\n%s", code, errOut)
	}
	if !strings.Contains(out.String(), "1 repair event enqueued") {
		t.Fatalf("output:\n%s", out)
	}
}

// TestReconcileExitStatus: 3 when keys are out of sync and not repaired, else 0 (nil).
func TestReconcileExitStatus(t *testing.T) {
	missing := reconcile.Problem{Key: "a.jpg", Kind: reconcile.Missing}
	repaired := reconcile.Problem{Key: "b.jpg", Kind: reconcile.Stale, Fix: "put", Sequencer: "01"}
	failed := reconcile.Problem{Key: "c.jpg", Kind: reconcile.Orphaned, FixError: "not enqueued: throttled"}
	dead := reconcile.Problem{Key: "d.txt", Kind: reconcile.DeadLettered}
	tests := []struct {
		name     string
		problems []reconcile.Problem
		fix      bool
		want     int
		say      string
	}{
		{"in sync", nil, false, 0, ""},
		{"dead-lettered only", []reconcile.Problem{dead}, false, 0, ""},
		{"out of sync", []reconcile.Problem{missing, dead}, false, exitAttention, "1 key out of sync (run with --fix to repair)"},
		{"all repaired", []reconcile.Problem{repaired, dead}, true, 0, ""},
		{"a repair failed", []reconcile.Problem{repaired, failed}, true, exitAttention, "1 key out of sync and not repaired"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := reconcileStatus(reconcile.Result{Problems: tc.problems}, tc.fix)
			if tc.want == 0 {
				if err != nil {
					t.Fatalf("err = %v, want nil (exit 0)", err)
				}
				return
			}
			if statusOf(err) != tc.want || !strings.Contains(err.Error(), tc.say) {
				t.Fatalf("err = %v (status %d), want status %d saying %q", err, statusOf(err), tc.want, tc.say)
			}
		})
	}
}
