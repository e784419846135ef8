package telemetry

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

type fixedHealth Status

func (f fixedHealth) Health() Status { return Status(f) }

// TestMuxHealth: /healthz follows Live and /readyz follows Ready, and both bodies carry the
// Status as JSON so that an operator sees the reason.
func TestMuxHealth(t *testing.T) {
	tests := []struct {
		name            string
		health          Checker
		healthz, readyz int
		reason          string
	}{
		{"live and ready", fixedHealth{Live: true, Ready: true, Reason: "ready"}, 200, 200, "ready"},
		{"live, not ready", fixedHealth{Live: true, Reason: "stream not reached for 12s"}, 200, 503, "stream not reached for 12s"},
		{"stuck", fixedHealth{Reason: "no shard sync for 1m0s"}, 503, 503, "no shard sync for 1m0s"},
		{"nil checker", nil, 200, 503, "not ready"},
		{"unset readiness flag", &Readiness{}, 200, 503, "not ready"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mux := Mux(nil, tc.health)
			for path, want := range map[string]int{"/healthz": tc.healthz, "/readyz": tc.readyz} {
				rec := httptest.NewRecorder()
				mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
				if rec.Code != want {
					t.Errorf("%s: %d, want %d", path, rec.Code, want)
				}
				if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
					t.Errorf("%s: Content-Type %q", path, ct)
				}
				var st Status
				if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil {
					t.Fatalf("%s: body %q: %v", path, rec.Body, err)
				}
				if st.Reason != tc.reason {
					t.Errorf("%s: reason %q, want %q", path, st.Reason, tc.reason)
				}
			}
		})
	}
	var r Readiness
	r.Set(true)
	if st := r.Health(); !st.Live || !st.Ready {
		t.Errorf("set readiness: %+v", st)
	}
}

// TestLoggerDurationsAreReadable: a duration attribute is written as "30s", not 30000000000, in
// both formats and inside groups.
func TestLoggerDurationsAreReadable(t *testing.T) {
	for _, format := range []string{"json", "text"} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			log := NewLogger(&buf, format, slog.LevelInfo)
			log.Info("shutting down", slog.Duration("stop_timeout", 30*time.Second),
				slog.Group("drain", slog.Duration("took", 1500*time.Millisecond)))
			out := buf.String()
			if strings.Contains(out, "30000000000") || strings.Contains(out, "1500000000") {
				t.Fatalf("duration written in nanoseconds: %s", out)
			}
			for _, want := range []string{"30s", "1.5s"} {
				if !strings.Contains(out, want) {
					t.Errorf("log does not say %q: %s", want, out)
				}
			}
		})
	}
}
