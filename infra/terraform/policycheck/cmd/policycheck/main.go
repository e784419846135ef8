// Command policycheck checks Terraform plans against shardline's deployment rules (see package
// policycheck): `terraform show -json plan.out > plan.json && policycheck plan.json`. It prints
// one line per finding and exits 1 when there is any, 2 when a plan cannot be read, 0 otherwise.
package main

import (
	"fmt"
	"os"

	"github.com/shardline/shardline/infra/terraform/policycheck"
)

func main() {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" {
		fmt.Fprintln(os.Stderr, "usage: policycheck PLAN.json... (the output of `terraform show -json PLANFILE`; - reads stdin)")
		os.Exit(2)
	}
	os.Exit(policycheck.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
