package cli_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/shardline/shardline/internal/cli"
	"github.com/shardline/shardline/internal/lab/labcli"
)

// run runs p with args and returns its exit status, stdout and stderr.
func run(p cli.Program, args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := p.Main(context.Background(), args, &cli.Env{Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }})
	return code, out.String(), errOut.String()
}

var flagLine = regexp.MustCompile(`(?m)^  -([a-z0-9-]+)`)

// commandFlags maps each listed command of p to the flags its -h prints (none for version).
func commandFlags(t *testing.T, p cli.Program) map[string][]string {
	t.Helper()
	flags := map[string][]string{}
	for _, c := range p.Commands {
		if c.Hidden || c.Name == "version" {
			continue
		}
		code, _, help := run(p, c.Name, "-h")
		if code != 0 {
			t.Fatalf("%s %s -h: exit %d\n%s", p.Name, c.Name, code, help)
		}
		for _, m := range flagLine.FindAllStringSubmatch(help, -1) {
			flags[c.Name] = append(flags[c.Name], m[1])
		}
	}
	return flags
}

// TestBinariesListTheirCommands: the production binary lists only what runs in production; the
// demo, chaos and the benchmark are the lab binary's.
func TestBinariesListTheirCommands(t *testing.T) {
	for _, tc := range []struct {
		program cli.Program
		want    []string
	}{
		{cli.Shardline(), []string{"forward", "work", "setup", "status", "reshard", "reprocess", "redrive",
			"replay-failures", "reconcile", "ledger", "healthcheck", "version"}},
		{labcli.Lab(), []string{"demo", "chaos", "bench"}},
	} {
		t.Run(tc.program.Name, func(t *testing.T) {
			code, _, usage := run(tc.program, "--help")
			_, list, ok := strings.Cut(usage, "commands:\n")
			if code != 0 || !ok {
				t.Fatalf("--help: exit %d, no command list:\n%s", code, usage)
			}
			var got []string
			for _, line := range strings.Split(list, "\n") {
				if name, _, ok := strings.Cut(strings.TrimPrefix(line, "  "), " "); ok && strings.HasPrefix(line, "  ") {
					got = append(got, name)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("%s --help lists %q, want %q", tc.program.Name, got, tc.want)
			}
		})
	}
}

// TestProductionBinaryShipsNoLab: nothing under internal/lab is linked into cmd/shardline.
func TestProductionBinaryShipsNoLab(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	out, err := exec.Command(gobin, "list", "-deps", "-f", "{{.ImportPath}}", "../../cmd/shardline").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "github.com/shardline/shardline/internal/cli\n") {
		t.Fatalf("go list -deps does not list internal/cli:\n%s", out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.Contains(pkg, "/internal/lab/") || strings.HasSuffix(pkg, "/internal/lab") {
			t.Errorf("cmd/shardline links %s", pkg)
		}
	}
}

// TestREADMEDocumentsEveryFlag keeps the README's configuration section honest: every flag of
// every command of both binaries, and its environment variable, must appear there.
func TestREADMEDocumentsEveryFlag(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []cli.Program{cli.Shardline(), labcli.Lab()} {
		for command, flags := range commandFlags(t, p) {
			for _, name := range flags {
				if !bytes.Contains(readme, []byte("`--"+name+"`")) {
					t.Errorf("README does not document `--%s` of %s", name, command)
				}
				if !bytes.Contains(readme, []byte(cli.EnvName(name))) {
					t.Errorf("README does not name %s (flag --%s of %s)", cli.EnvName(name), name, command)
				}
			}
		}
	}
}

// TestStackEnvNamesAreFlags keeps `infra/local/stack.sh env` and the commands of both binaries
// one vocabulary: every SHARDLINE_* variable it exports is a flag's variable of some command (so
// that `eval "$(infra/local/stack.sh env)"` configures the commands run next), and it exports the
// ones forward and setup need against the local stack.
func TestStackEnvNamesAreFlags(t *testing.T) {
	script, err := os.ReadFile("../../infra/local/stack.sh")
	if err != nil {
		t.Fatal(err)
	}
	exported := map[string]bool{}
	for _, m := range regexp.MustCompile(`export (SHARDLINE_[A-Z0-9_]+)=`).FindAllStringSubmatch(string(script), -1) {
		exported[m[1]] = true
	}
	if len(exported) == 0 {
		t.Fatal("stack.sh exports no SHARDLINE_* variable: has its env command moved?")
	}
	read := map[string][]string{} // variable → the commands reading it
	for _, p := range []cli.Program{cli.Shardline(), labcli.Lab()} {
		for command, flags := range commandFlags(t, p) {
			for _, f := range flags {
				read[cli.EnvName(f)] = append(read[cli.EnvName(f)], command)
			}
		}
	}
	// Read by the integration tests' harness, not by a command: internal/lab/emulators must read it.
	notFlags := map[string]string{"SHARDLINE_STACK": "../lab/emulators/emulators.go"}
	for name := range exported {
		if file, ok := notFlags[name]; ok {
			src, err := os.ReadFile(file)
			if err != nil || !strings.Contains(string(src), `"`+name+`"`) {
				t.Errorf("stack.sh exports %s for %s, which does not read it (%v)", name, file, err)
			}
			continue
		}
		if len(read[name]) == 0 {
			t.Errorf("stack.sh exports %s, but no command has the flag --%s", name, strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(name, "SHARDLINE_")), "_", "-"))
		}
	}
	for _, want := range []struct{ flag, command string }{
		{"listen", "forward"}, {"webhook-token", "forward"}, {"notify-arn", "setup"}, {"s3-path-style", "setup"},
	} {
		name := cli.EnvName(want.flag)
		if !exported[name] {
			t.Errorf("stack.sh env does not export %s (--%s of %s)", name, want.flag, want.command)
		}
		if !slices.Contains(read[name], want.command) {
			t.Errorf("%s does not read %s (commands reading it: %v)", want.command, name, read[name])
		}
	}
}
