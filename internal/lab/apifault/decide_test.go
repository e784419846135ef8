package apifault

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/shardline/shardline/internal/lab/testkit"
)

func TestChoose(t *testing.T) {
	r := Rates{Throttle: 0.1, ServerError: 0.2, Reset: 0.05, Lost: 0.15}
	cases := []struct {
		name string
		r    Rates
		u    float64
		want Kind
	}{
		{name: "zero rates", r: Rates{}, u: 0, want: KindNone},
		{name: "start of throttle", r: r, u: 0, want: KindThrottle},
		{name: "end of throttle", r: r, u: 0.0999, want: KindThrottle},
		{name: "server error", r: r, u: 0.1001, want: KindServerError},
		{name: "reset", r: r, u: 0.32, want: KindReset},
		{name: "lost", r: r, u: 0.36, want: KindLost},
		{name: "after the last segment", r: r, u: 0.5001, want: KindNone},
		{name: "all lost", r: Rates{Lost: 1}, u: 0.9999, want: KindLost},
		{name: "only reset", r: Rates{Reset: 0.5}, u: 0.25, want: KindReset},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := choose(tc.r, tc.u); got != tc.want {
				t.Errorf("choose(%+v, %v) = %s, want %s", tc.r, tc.u, got, tc.want)
			}
		})
	}
}

// TestPerOperation: an operation's own entry (an explicit zero one too) wins over the default,
// for fault rates (none at all in latency-only mode) and for latency.
func TestPerOperation(t *testing.T) {
	put, defRates := Rates{Lost: 0.5}, Rates{Throttle: 0.1}
	get, defLatency := Latency{Base: 20 * time.Millisecond, Jitter: 10 * time.Millisecond}, Latency{Base: 5 * time.Millisecond}
	rates := func(cfg Config, op string) Rates { return cfg.rates(op) }
	latency := func(cfg Config, op string) Latency { return cfg.latency(op) }
	cases := []struct {
		name      string
		got, want any
	}{
		{"rates: own entry", rates(Config{Default: defRates, Ops: map[string]Rates{"PutItem": put}}, "PutItem"), put},
		{"rates: default for others", rates(Config{Default: defRates, Ops: map[string]Rates{"PutItem": put}}, "GetItem"), defRates},
		{"rates: explicit zero entry overrides default", rates(Config{Default: defRates, Ops: map[string]Rates{"GetItem": {}}}, "GetItem"), Rates{}},
		{"rates: latency only", rates(Config{LatencyOnly: true}, "PutItem"), Rates{}},
		{"latency: own entry", latency(Config{Latency: defLatency, OpLatency: map[string]Latency{"GetRecords": get}}, "GetRecords"), get},
		{"latency: Latency for others", latency(Config{Latency: defLatency, OpLatency: map[string]Latency{"GetRecords": get}}, "PutRecords"), defLatency},
		{"latency: explicit zero entry overrides Latency", latency(Config{Latency: defLatency, OpLatency: map[string]Latency{"ListShards": {}}}, "ListShards"), Latency{}},
		{"latency: no entries", latency(Config{Latency: defLatency}, "GetItem"), defLatency},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %+v, want %+v", tc.got, tc.want)
			}
		})
	}
}

// TestOpLatencyDefaults shows that every entry gets Latency's defaults (TailAlpha, Max) and that
// the caller's map is left as it was.
func TestOpLatencyDefaults(t *testing.T) {
	ops := map[string]Latency{"GetItem": {Base: time.Millisecond}}
	c := Config{Service: DynamoDB, Upstream: "http://127.0.0.1:4568", OpLatency: ops}
	c.defaults()
	if got := c.latency("GetItem"); got.TailAlpha != 1.5 || got.Max != 10*time.Second || got.Base != time.Millisecond {
		t.Errorf("latency(GetItem) after defaults = %+v, want TailAlpha 1.5, Max 10s, Base 1ms", got)
	}
	if ops["GetItem"].Max != 0 {
		t.Errorf("defaults changed the caller's map: %+v", ops["GetItem"])
	}
}

func TestLatencyDraw(t *testing.T) {
	ms := time.Millisecond
	cases := []struct {
		name              string
		l                 Latency
		jit, tailU, tailV float64
		want              time.Duration
		wantTail          bool
	}{
		{name: "zero", l: Latency{}, jit: 0.5, tailU: 0, tailV: 0.5, want: 0},
		{name: "base and jitter", l: Latency{Base: 10 * ms, Jitter: 10 * ms}, jit: 0.5, tailU: 0.9, want: 15 * ms},
		{name: "no tail above TailP", l: Latency{Base: ms, TailP: 0.1, TailMin: 100 * ms, TailAlpha: 1}, tailU: 0.2, tailV: 0.5, want: ms},
		// Pareto inverse CDF: TailMin / (1-v)^(1/alpha); v = 0.5, alpha = 1 doubles TailMin.
		{name: "tail", l: Latency{Base: ms, TailP: 0.1, TailMin: 100 * ms, TailAlpha: 1}, tailU: 0.05, tailV: 0.5, want: 201 * ms, wantTail: true},
		{name: "tail capped", l: Latency{TailP: 1, TailMin: 100 * ms, TailAlpha: 1, Max: 150 * ms}, tailU: 0, tailV: 0.999999, want: 150 * ms, wantTail: true},
		{name: "tail capped without overflow", l: Latency{TailP: 1, TailMin: time.Second, TailAlpha: 0.01, Max: time.Hour}, tailU: 0, tailV: 0.9999999, want: time.Hour, wantTail: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, tail := tc.l.draw(tc.jit, tc.tailU, tc.tailV)
			if got != tc.want || tail != tc.wantTail {
				t.Errorf("draw = %s, tail %v; want %s, tail %v", got, tail, tc.want, tc.wantTail)
			}
		})
	}
}

// TestDecideDeterministic shows that a seed fixes the sequence of decisions, and that the
// observed frequencies follow the rates.
func TestDecideDeterministic(t *testing.T) {
	rates := Rates{Throttle: 0.1, ServerError: 0.05, Reset: 0.02, Lost: 0.03}
	lat := Latency{Base: time.Millisecond, Jitter: time.Millisecond, TailP: 0.01, TailMin: 50 * time.Millisecond, TailAlpha: 1.5, Max: time.Second}
	run := func(seed uint64) ([]decision, map[Kind]int) {
		rng := rand.New(rand.NewPCG(seed, 0xa91f))
		var ds []decision
		n := map[Kind]int{}
		for range 20000 {
			d := decide(rng, rates, lat)
			ds = append(ds, d)
			n[d.kind]++
		}
		return ds, n
	}
	a, counts := run(7)
	b, _ := run(7)
	c, _ := run(8)
	same := func(x, y []decision) bool {
		for i := range x {
			if x[i] != y[i] {
				return false
			}
		}
		return true
	}
	if !same(a, b) {
		t.Error("same seed gave different decisions")
	}
	if same(a, c) {
		t.Error("different seeds gave the same decisions")
	}
	for k, p := range map[Kind]float64{KindThrottle: 0.1, KindServerError: 0.05, KindReset: 0.02, KindLost: 0.03, KindNone: 0.8} {
		got := float64(counts[k]) / 20000
		if got < p*0.8 || got > p*1.2 {
			t.Errorf("%s: frequency %.4f, want about %.2f", k, got, p)
		}
	}
}

func TestValidate(t *testing.T) {
	ok := Config{Service: DynamoDB, Upstream: "http://127.0.0.1:4568"}
	cases := []struct {
		name    string
		mut     func(*Config)
		wantErr string
	}{
		{name: "minimal", mut: func(*Config) {}},
		{name: "rates", mut: func(c *Config) { c.Default = Rates{Throttle: 0.5, Lost: 0.5} }},
		{name: "unknown service", mut: func(c *Config) { c.Service = "sqs" }, wantErr: "unknown service"},
		{name: "no upstream", mut: func(c *Config) { c.Upstream = "" }, wantErr: "not an http(s) URL"},
		{name: "upstream without scheme", mut: func(c *Config) { c.Upstream = "127.0.0.1:4568" }, wantErr: "not an http(s) URL"},
		{name: "negative rate", mut: func(c *Config) { c.Default.Reset = -0.1 }, wantErr: "out of [0, 1]"},
		{name: "rates above one", mut: func(c *Config) { c.Ops = map[string]Rates{"PutItem": {Throttle: 0.6, Lost: 0.6}} }, wantErr: "rates of PutItem"},
		{name: "latency only with rates", mut: func(c *Config) { c.LatencyOnly = true; c.Default.Lost = 0.1 }, wantErr: "LatencyOnly"},
		{name: "latency only", mut: func(c *Config) { c.LatencyOnly = true; c.Latency.Base = time.Millisecond }},
		{name: "negative latency", mut: func(c *Config) { c.Latency.Base = -1 }, wantErr: "negative"},
		{name: "tail probability", mut: func(c *Config) { c.Latency.TailP = 2 }, wantErr: "TailP"},
		{name: "latency per operation", mut: func(c *Config) { c.OpLatency = map[string]Latency{"GetItem": {Base: time.Millisecond}} }},
		{name: "negative latency of an operation", mut: func(c *Config) { c.OpLatency = map[string]Latency{"GetItem": {Jitter: -1}} }, wantErr: "latency of GetItem"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.mut(&c)
			testkit.ErrMentions(t, c.Validate(), tc.wantErr)
		})
	}
}
