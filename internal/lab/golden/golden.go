// Package golden compares a test's output with a file under testdata/, the one golden-file helper
// of the project. `go test -update` rewrites the files instead. It is lab code: only tests import
// it, and it owns the -update flag, so a test package that imports it must not define its own.
package golden

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/ with the output of the tests")

// Check fails the test unless got equals testdata/name, showing both; with -update it writes got
// to testdata/name first.
func Check(t testing.TB, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test -update to accept):\n--- got\n%s--- want\n%s", name, got, want)
	}
}
