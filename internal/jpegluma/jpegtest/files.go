package jpegtest

import (
	"os"
	"path/filepath"
	"testing"
)

// Files returns the contents of the files that match pattern (as filepath.Glob matches it), in
// name order, failing tb if one cannot be read. The fuzz targets seed their corpus with them.
func Files(tb testing.TB, pattern string) [][]byte {
	tb.Helper()
	names, err := filepath.Glob(pattern)
	if err != nil {
		tb.Fatalf("jpegtest: pattern %q: %v", pattern, err)
	}
	files := make([][]byte, 0, len(names))
	for _, name := range names {
		data, err := os.ReadFile(name)
		if err != nil {
			tb.Fatal(err)
		}
		files = append(files, data)
	}
	return files
}
