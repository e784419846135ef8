package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/shardline/shardline/internal/pipelinetest"
	"github.com/shardline/shardline/internal/reconcile"
)

func TestWriteReconcileGolden(t *testing.T) {
	cfg := reconcile.Config{InputBucket: "photos", OutputBucket: "photos-gray", OutputPrefix: "gray/", Fix: true}
	res := reconcile.Result{
		Progress: reconcile.Progress{Inputs: 31, Outputs: 29, Checked: 28, Enqueued: 3},
		InSync:   27,
		Problems: []reconcile.Problem{
			{Key: "a.jpg", Kind: reconcile.Missing, InputETag: "9b2cf535f27731c974343645a3985328", Fix: "put", Sequencer: "00000000000000000000000000000001"},
			{Key: "b.jpg", Kind: reconcile.Stale, InputETag: "5d41402abc4b2a76b9719d911017c592", SourceETag: "7d793037a0760186574b0282f2f435e7", Fix: "put", Sequencer: "0062E5E4C5D8B3A9D100000000000001"},
			{Key: "gone.jpg", Kind: reconcile.Orphaned, SourceETag: "", Fix: "delete", Sequencer: "0062E5E4C5D8B3AA0000000000000001"},
			{Key: "notes.txt", Kind: reconcile.DeadLettered, InputETag: "e2fc714c4727ee9395f324cd2e7f331f"},
		},
	}
	var buf bytes.Buffer
	if err := writeReconcile(&buf, cfg, res); err != nil {
		t.Fatal(err)
	}
	goldenFile(t, "reconcile.golden", buf.Bytes())
}

func TestReconcileCommand(t *testing.T) {
	env, _, errOut := testEnv(nil)
	if code := opsMain(context.Background(), []string{"reconcile", "--bucket", "x"}, env); code != 2 || !strings.Contains(errOut.String(), "--bucket and --output are required") {
		t.Fatalf("without --output: exit %d\n%s", code, errOut)
	}
	p := pipelinetest.New(t, 1)
	p.PutInput("a.jpg", pipelinetest.JPEG(t, 1))
	env, out, errOut := testEnv(p.Env())
	if code := opsMain(context.Background(), []string{"reconcile", "--bucket", p.Input, "--output", p.Output, "--json"}, env); code != 0 {
		t.Fatalf("reconcile: exit %d\n%s", code, errOut)
	}
	var res reconcile.Result
	if err := json.Unmarshal(out.Bytes(), &res); err != nil || len(res.Problems) != 1 || res.Problems[0].Kind != reconcile.Missing {
		t.Fatalf("result %+v, %v\n%s", res, err, out)
	}
	env, out, errOut = testEnv(p.Env())
	if code := opsMain(context.Background(), []string{"reconcile", "--bucket", p.Input, "--output", p.Output, "--fix"}, env); code != 0 {
		t.Fatalf("reconcile --fix: exit %d\n%s", code, errOut)
	}
	if !strings.Contains(out.String(), "1 repair event enqueued") {
		t.Fatalf("output:\n%s", out)
	}
}
