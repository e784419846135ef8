package proc

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestBuildSaysWhatFailed: a package that does not build comes back as an error naming it.
func TestBuildSaysWhatFailed(t *testing.T) {
	const pkg = "github.com/shardline/shardline/internal/lab/proc/nosuchpackage"
	err := Build(t.Context(), pkg, filepath.Join(t.TempDir(), "bin"))
	if err == nil || !strings.Contains(err.Error(), pkg) {
		t.Fatalf("Build = %v, want an error naming %s", err, pkg)
	}
}
