package apifault

import (
	"os/exec"
	"strings"
	"testing"
)

// TestProductionDoesNotImportLab keeps lab code out of what runs in production: the worker, the
// forwarder (its Lambda too) and the packages they are built from never depend on internal/lab.
func TestProductionDoesNotImportLab(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps",
		"../../../processor/...", "../../../checkpoint/...", "../../worker/...", "../../forwarder/...", "../../../cmd/forwarder-lambda").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.Contains(pkg, "/internal/lab/") || strings.HasSuffix(pkg, "/internal/lab") {
			t.Errorf("production package graph imports %s", pkg)
		}
	}
}
