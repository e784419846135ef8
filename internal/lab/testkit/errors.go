package testkit

import (
	"strings"
	"testing"
)

// ErrMentions fails the test unless err is nil when want is empty, or an error whose message
// contains want otherwise: the check of a table of Validate cases.
func ErrMentions(t testing.TB, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Fatalf("unexpected error: %v", err)
	case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
		t.Fatalf("error %v, want one mentioning %q", err, want)
	}
}
