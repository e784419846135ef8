package cli

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
)

// flagEnvNames maps every SHARDLINE_<FLAG> variable some command reads to the commands that read it.
func flagEnvNames(t *testing.T) map[string][]string {
	t.Helper()
	flagLine := regexp.MustCompile(`(?m)^  -([a-z0-9-]+)`)
	names := map[string][]string{}
	for _, c := range commands() {
		env, _, errOut := testEnv(nil)
		if code := Main(context.Background(), []string{c.name, "-h"}, env); code != 0 {
			continue // version: no flags
		}
		for _, m := range flagLine.FindAllStringSubmatch(errOut.String(), -1) {
			names[EnvName(m[1])] = append(names[EnvName(m[1])], c.name)
		}
	}
	return names
}

// TestStackEnvNamesAreFlags keeps `infra/local/stack.sh env` and the commands one vocabulary:
// every SHARDLINE_* variable it exports is a flag's variable of some command (so that
// `eval "$(infra/local/stack.sh env)"` configures the commands run next), and it exports the
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
	// Read by the integration tests' harness, not by a command: internal/lab/emulators must read it.
	notFlags := map[string]string{"SHARDLINE_STACK": "../lab/emulators/emulators.go"}
	read := flagEnvNames(t)
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
		name := EnvName(want.flag)
		if !exported[name] {
			t.Errorf("stack.sh env does not export %s (--%s of %s)", name, want.flag, want.command)
		}
		if !strings.Contains(strings.Join(read[name], " "), want.command) {
			t.Errorf("%s does not read %s (commands reading it: %v)", want.command, name, read[name])
		}
	}
}
