package labcli

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestShardlineNextTo: the demo and chaos run the shardline built next to shardline-lab, else
// the one on PATH, else they say how to build it.
func TestShardlineNextTo(t *testing.T) {
	bin, onPath := t.TempDir(), t.TempDir()
	lab := filepath.Join(bin, "shardline-lab")
	executable := func(path string) {
		t.Helper()
		if err := os.WriteFile(path, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}

	t.Setenv("PATH", onPath)
	if got, err := shardlineNextTo(lab); !errors.Is(err, errNoShardline) {
		t.Fatalf("neither next to it nor on PATH: %q, %v; want errNoShardline", got, err)
	}
	executable(filepath.Join(onPath, "shardline"))
	if got, err := shardlineNextTo(lab); err != nil || got != filepath.Join(onPath, "shardline") {
		t.Fatalf("on PATH only: %q, %v", got, err)
	}
	executable(filepath.Join(bin, "shardline"))
	if got, err := shardlineNextTo(lab); err != nil || got != filepath.Join(bin, "shardline") {
		t.Fatalf("next to it and on PATH: %q, %v; want the one next to it", got, err)
	}
}
