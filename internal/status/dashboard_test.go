package status

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestDashboardQueriesKnownMetrics keeps infra/grafana/dashboard.json in step with the code: it
// must be valid JSON with unique panel IDs, and every shardline metric a query names must be
// defined in the worker's, the forwarder's or this package's metrics.
func TestDashboardQueriesKnownMetrics(t *testing.T) {
	raw, err := os.ReadFile("../../infra/grafana/dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			ID      int `json:"id"`
			Type    string
			Title   string
			Targets []struct {
				Expr string `json:"expr"`
			}
		}
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("dashboard.json: %v", err)
	}
	var sources strings.Builder
	for _, f := range []string{"../../processor/metrics.go", "../forwarder/metrics.go", "metrics.go"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sources.Write(b)
	}
	defined := func(metric string) bool {
		for _, suffix := range []string{"_bucket", "_count", "_sum"} {
			if base := strings.TrimSuffix(metric, suffix); base != metric && strings.HasSuffix(base, "_seconds") {
				metric = base
			}
		}
		return strings.Contains(sources.String(), `"`+metric+`"`)
	}
	name := regexp.MustCompile(`shardline_[a-z_]+`)
	ids := map[int]bool{}
	queries := 0
	for _, p := range dash.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d used twice", p.ID)
		}
		ids[p.ID] = true
		for _, tg := range p.Targets {
			queries++
			for _, m := range name.FindAllString(tg.Expr, -1) {
				if !defined(m) {
					t.Errorf("panel %q queries %s, which no metrics code defines", p.Title, m)
				}
			}
		}
	}
	if queries == 0 {
		t.Fatal("the dashboard has no queries")
	}
}
