package policycheck

import (
	"fmt"
	"io"
	"os"
)

// Main checks each plan file (- for r), prints the findings to stdout and a summary line per
// plan, and returns the exit status: 0 no findings, 1 findings, 2 a plan could not be read.
func Main(paths []string, r io.Reader, stdout, stderr io.Writer) int {
	status := 0
	for _, path := range paths {
		var (
			data []byte
			err  error
		)
		if path == "-" {
			data, err = io.ReadAll(r)
		} else {
			data, err = os.ReadFile(path)
		}
		if err != nil {
			fmt.Fprintf(stderr, "policycheck: %v\n", err)
			return 2
		}
		p, err := ParsePlan(data)
		if err != nil {
			fmt.Fprintf(stderr, "policycheck: %s: %v\n", path, err)
			return 2
		}
		findings := CheckPlan(p)
		for _, f := range findings {
			fmt.Fprintln(stdout, f)
		}
		live := 0
		for i := range p.ResourceChanges {
			if p.ResourceChanges[i].live() {
				live++
			}
		}
		if len(findings) > 0 {
			fmt.Fprintf(stdout, "policycheck: %s: FAIL: %d finding(s) in %d resources\n", path, len(findings), live)
			status = 1
		} else {
			fmt.Fprintf(stdout, "policycheck: %s: ok: %d resources, no findings\n", path, live)
		}
	}
	return status
}
