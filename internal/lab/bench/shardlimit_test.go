package bench

import (
	"os"
	"testing"
	"time"
)

func TestParseProcStat(t *testing.T) {
	cases := []struct {
		name    string
		line    string
		want    cpuTime
		wantErr bool
	}{
		{name: "plain", line: "1234 (shardline-ben) S 1 1234 1234 0 -1 4194560 5000 0 0 0 250 37 0 0 20 0 12 0 100 0 0",
			want: cpuTime{user: 2500 * time.Millisecond, system: 370 * time.Millisecond}},
		{name: "name with spaces and parentheses", line: "99 (a (b) c) R 1 99 99 0 -1 0 0 0 0 0 7 3 0 0 20 0 1 0 5 0 0",
			want: cpuTime{user: 70 * time.Millisecond, system: 30 * time.Millisecond}},
		{name: "no name", line: "99 R 1", wantErr: true},
		{name: "short", line: "99 (x) R 1 2 3", wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseProcStat(tc.line)
			if (err != nil) != tc.wantErr {
				t.Fatalf("parseProcStat error %v, want error %v", err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("parseProcStat = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestParseOwnProcStat reads this test process's own line, as the section reads a child's.
func TestParseOwnProcStat(t *testing.T) {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		t.Skip("no /proc:", err)
	}
	if _, err := parseProcStat(string(b)); err != nil {
		t.Fatalf("parseProcStat(/proc/self/stat): %v", err)
	}
}

func TestConsumerProgress(t *testing.T) {
	base := time.Unix(1_800_000_000, 0)
	p := &consumerProc{}
	for i, n := range []int64{0, 100, 250, 250, 400} {
		p.progress = append(p.progress, childProgress{At: base.Add(time.Duration(i) * time.Second).UnixNano(), Processed: n})
	}
	p.last = &p.progress[len(p.progress)-1]
	cases := []struct {
		at   time.Duration
		want int64
	}{{-time.Second, 0}, {0, 0}, {1500 * time.Millisecond, 100}, {3 * time.Second, 250}, {time.Hour, 400}}
	for _, tc := range cases {
		if got := p.processedAt(base.Add(tc.at)); got != tc.want {
			t.Errorf("processedAt(+%s) = %d, want %d", tc.at, got, tc.want)
		}
	}
	at, err := p.waitProcessed(t.Context(), 250, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if want := base.Add(2 * time.Second); !at.Equal(want) {
		t.Errorf("waitProcessed(250) at %s, want the first report of it, %s", at, want)
	}
}
