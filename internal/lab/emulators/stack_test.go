package emulators

import (
	"strings"
	"testing"
)

func TestCheckStack(t *testing.T) {
	const moto = "http://127.0.0.1:4569"
	tests := []struct {
		name          string
		stack         string
		s3, kin, ddb  string
		wantErrSubstr string // "" = no error
	}{
		{name: "unset is the local stack", s3: "http://127.0.0.1:9000", kin: "http://127.0.0.1:4567", ddb: "http://127.0.0.1:4568"},
		{name: "local", stack: StackLocal, s3: "http://127.0.0.1:9000", kin: "http://127.0.0.1:4567", ddb: "http://127.0.0.1:4568"},
		{name: "moto on one server", stack: StackMoto, s3: moto, kin: moto, ddb: moto},
		{name: "moto with a local endpoint left", stack: StackMoto, s3: "http://127.0.0.1:9000", kin: moto, ddb: moto, wantErrSubstr: "want one moto_server"},
		{name: "moto without endpoints", stack: StackMoto, wantErrSubstr: "want one moto_server"},
		{name: "unknown stack", stack: "localstack", wantErrSubstr: `want "local" or "moto"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(StackVar, tc.stack)
			t.Setenv("AWS_ENDPOINT_URL_S3", tc.s3)
			t.Setenv("AWS_ENDPOINT_URL_KINESIS", tc.kin)
			t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", tc.ddb)
			err := checkStack()
			switch {
			case tc.wantErrSubstr == "" && err != nil:
				t.Fatalf("checkStack: %v, want nil", err)
			case tc.wantErrSubstr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErrSubstr)):
				t.Fatalf("checkStack: %v, want an error containing %q", err, tc.wantErrSubstr)
			}
		})
	}
}

func TestSkipOnMoto(t *testing.T) {
	for _, tc := range []struct {
		stack    string
		wantSkip bool
	}{{StackMoto, true}, {StackLocal, false}, {"", false}} {
		t.Run("stack="+tc.stack, func(t *testing.T) {
			t.Setenv(StackVar, tc.stack)
			reached := false
			// The inner test is reported as skipped when SkipOnMoto skips it.
			t.Run("inner", func(t *testing.T) {
				SkipOnMoto(t, "checking that SkipOnMoto skips on moto")
				reached = true
			})
			if reached == tc.wantSkip {
				t.Errorf("%s=%q: went on past SkipOnMoto = %v, want %v", StackVar, tc.stack, reached, !tc.wantSkip)
			}
		})
	}
}
