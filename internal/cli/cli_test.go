package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"strings"
	"testing"
	"time"
)

func testEnv(vars map[string]string) (*Env, *bytes.Buffer, *bytes.Buffer) {
	var out, errOut bytes.Buffer
	return &Env{Stdout: &out, Stderr: &errOut, Getenv: func(k string) string { return vars[k] }}, &out, &errOut
}

func TestParseEnvironment(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    string
		wantDur time.Duration
		wantErr bool
	}{
		{"default", nil, nil, "shardline-events", time.Second, false},
		{"env fills an unset flag", nil, map[string]string{"SHARDLINE_STREAM": "from-env", "SHARDLINE_STOP_TIMEOUT": "5s"}, "from-env", 5 * time.Second, false},
		{"command line wins", []string{"--stream", "from-flag"}, map[string]string{"SHARDLINE_STREAM": "from-env"}, "from-flag", time.Second, false},
		{"bad env value", nil, map[string]string{"SHARDLINE_STOP_TIMEOUT": "soon"}, "", 0, true},
		{"stray argument", []string{"extra"}, nil, "", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet("x", flag.ContinueOnError)
			var c sharedValues
			var d time.Duration
			c.register(fs, Stream)
			fs.DurationVar(&d, "stop-timeout", time.Second, "")
			env, _, _ := testEnv(tc.env)
			err := parse(fs, tc.args, env)
			if tc.wantErr {
				if !errors.Is(err, errUsage) {
					t.Fatalf("err = %v, want a usage error", err)
				}
				return
			}
			if err != nil || c.stream != tc.want || d != tc.wantDur {
				t.Fatalf("stream %q stop-timeout %s err %v; want %q %s", c.stream, d, err, tc.want, tc.wantDur)
			}
		})
	}
}

func TestMainExitCodes(t *testing.T) {
	runMain(t, context.Background(), []mainCase{
		{"no command", nil, nil, 2, []string{"usage: shardline"}},
		{"unknown command", []string{"frobnicate"}, nil, 2, []string{`unknown command "frobnicate"`}},
		{"work without output bucket", []string{"work"}, nil, 2, []string{"--output-bucket (or SHARDLINE_OUTPUT_BUCKET) is required"}},
		{"bad log level", []string{"setup", "--log-level", "loud"}, nil, 2, []string{"--log-level"}},
		{"help", []string{"work", "-h"}, nil, 0, []string{"-output-bucket"}},
		{"version", []string{"version"}, nil, 0, []string{"shardline dev"}},
	})
}

// mainCase is one run of Main: its arguments and environment, the exit status it must end
// with, and phrases its output (stdout and stderr) must hold.
type mainCase struct {
	name string
	args []string
	env  map[string]string
	code int
	say  []string
}

// runMain runs each case with ctx as a subtest.
func runMain(t *testing.T, ctx context.Context, cases []mainCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env, out, errOut := testEnv(tc.env)
			if code := Main(ctx, tc.args, env); code != tc.code {
				t.Fatalf("%q: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", tc.args, code, tc.code, out, errOut)
			}
			for _, s := range tc.say {
				if !strings.Contains(out.String()+errOut.String(), s) {
					t.Errorf("%q: output does not say %q:\n%s%s", tc.args, s, out, errOut)
				}
			}
		})
	}
}

// TestSharedSetup runs a command through the shared setup: its own flag and the shared ones are
// parsed (the environment fills what the command line does not give), Check runs before
// anything is built and a failure is a usage error that never reaches Run, and Run gets the
// session the shared flags selected.
func TestSharedSetup(t *testing.T) {
	var (
		got     *Session
		checked string
	)
	probe := Command{Name: "probe", Shared: Logs | TextLogs | Stream | JSON, Flags: func(fs *flag.FlagSet) Action {
		var word string
		fs.StringVar(&word, "word", "", "a word (required)")
		return Action{
			Check: func() error {
				checked = word
				if word == "" {
					return errors.New("--word is required")
				}
				return nil
			},
			Run: func(_ context.Context, s *Session) error { got = s; return nil },
		}
	}}
	p := Program{Name: "test", Commands: []Command{probe}}

	env, _, errOut := testEnv(nil)
	if code := p.Main(context.Background(), []string{"probe", "--json"}, env); code != exitUsage || got != nil ||
		!strings.Contains(errOut.String(), "test probe: usage: --word is required") {
		t.Fatalf("without --word: exit %d, ran %v\n%s", code, got != nil, errOut)
	}

	env, _, errOut = testEnv(map[string]string{"SHARDLINE_STREAM": "from-env", "SHARDLINE_WORD": "hello", "SHARDLINE_LOG_FORMAT": "json"})
	if code := p.Main(context.Background(), []string{"probe", "--json"}, env); code != 0 || got == nil {
		t.Fatalf("exit %d, ran %v\n%s", code, got != nil, errOut)
	}
	if checked != "hello" || got.Stream != "from-env" || !got.JSON || got.LeaseTable != "" || got.Log == nil {
		t.Fatalf("checked %q, session %+v", checked, got)
	}
	got.Log.Info("probe")
	if !strings.Contains(errOut.String(), "level=INFO msg=probe") {
		t.Errorf("TextLogs: the log is not text although --log-format is json:\n%s", errOut)
	}
}
