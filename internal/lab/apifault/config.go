package apifault

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Service is the AWS service behind a proxy; it decides how operations are named and how
// injected errors are encoded.
type Service string

// The services the proxy speaks.
const (
	S3       Service = "s3"
	Kinesis  Service = "kinesis"
	DynamoDB Service = "dynamodb"
)

// Kind is what the proxy did to a call.
type Kind string

// The kinds of injected faults. KindNone is a call forwarded without a fault (it may still have
// been delayed); it is never counted as injected.
const (
	KindNone        Kind = "none"
	KindThrottle    Kind = "throttle"     // the service's throttling error; not forwarded
	KindServerError Kind = "server_error" // the service's 500; not forwarded
	KindReset       Kind = "reset"        // connection reset before forwarding
	KindLost        Kind = "lost"         // forwarded and completed upstream, then reset
	KindSlow        Kind = "slow"         // a latency tail was added (counted with any other kind)
)

// Rates are the probabilities, per call, of each fault. Each is in [0, 1] and their sum is at
// most 1; the rest of the calls are forwarded.
type Rates struct {
	Throttle    float64
	ServerError float64
	Reset       float64
	Lost        float64
}

func (r Rates) sum() float64 { return r.Throttle + r.ServerError + r.Reset + r.Lost }

func (r Rates) validate() error {
	for _, p := range []float64{r.Throttle, r.ServerError, r.Reset, r.Lost} {
		if p < 0 || p > 1 || p != p {
			return fmt.Errorf("probability %v out of [0, 1]", p)
		}
	}
	if r.sum() > 1 {
		return fmt.Errorf("probabilities sum to %v, more than 1", r.sum())
	}
	return nil
}

// Latency is the delay added before a call is handled: Base, plus a uniform draw in
// [0, Jitter), plus, with probability TailP, a Pareto-distributed tail of scale TailMin and
// shape TailAlpha (heavier as TailAlpha approaches 1). The total is capped at Max. The zero
// value adds no delay.
type Latency struct {
	Base      time.Duration
	Jitter    time.Duration
	TailP     float64
	TailMin   time.Duration
	TailAlpha float64       // default 1.5
	Max       time.Duration // default 10s
}

func (l *Latency) defaults() {
	if l.TailAlpha == 0 {
		l.TailAlpha = 1.5
	}
	if l.Max == 0 {
		l.Max = 10 * time.Second
	}
}

func (l Latency) validate() error {
	switch {
	case l.Base < 0, l.Jitter < 0, l.TailMin < 0, l.Max < 0:
		return errors.New("latency durations must not be negative")
	case l.TailP < 0 || l.TailP > 1 || l.TailP != l.TailP:
		return fmt.Errorf("latency TailP %v out of [0, 1]", l.TailP)
	case l.TailAlpha < 0:
		return fmt.Errorf("latency TailAlpha %v must be positive", l.TailAlpha)
	}
	return nil
}

// Config configures one proxy. Zero values take the documented defaults.
type Config struct {
	// Service is the AWS service behind the proxy; required.
	Service Service
	// Upstream is the real endpoint, e.g. http://127.0.0.1:4568; required.
	Upstream string
	// Listen is the proxy's address; default 127.0.0.1:0 (Proxy.Addr tells the port).
	Listen string
	// Seed seeds the random source of every decision: the same seed and the same sequence of
	// calls give the same faults.
	Seed uint64

	// Default are the fault rates of operations that have no entry in Ops.
	Default Rates
	// Ops are fault rates per operation name as Operation returns it (e.g. "PutItem").
	Ops map[string]Rates
	// Latency is added to every call (faulted or not) before it is handled, unless OpLatency
	// has an entry for the call's operation.
	Latency Latency
	// OpLatency is the latency of each operation named here (as Operation returns it, e.g.
	// "GetRecords"), instead of Latency: AWS answers a DynamoDB GetItem in single-digit
	// milliseconds but a Kinesis GetRecords in tens. An entry's zero value adds no delay.
	OpLatency map[string]Latency
	// LatencyOnly injects latency and nothing else (for benchmarks); Default and Ops must then
	// be zero.
	LatencyOnly bool

	// AfterForward, when set, is called with the operation name and the request of every call
	// that was forwarded and completed upstream (including a lost one, before its client sees
	// the reset), before the client receives the response. It runs on the call's goroutine: a
	// test harness uses it to act at a precise moment of the client's work (e.g. to pause the
	// client right after it read an object), so it must return promptly.
	AfterForward func(op string, r *http.Request)
	// BeforeForward, when set, is called with the operation name and the request of every call
	// about to be forwarded upstream (after its latency; not for a call faulted before
	// forwarding), on the call's goroutine. It may block to hold the call, e.g. to aim a
	// latency tail at one write while the client is paused, so that the write reaches the
	// server only after others did. It may read r.Body if it puts an equivalent body back.
	BeforeForward func(op string, r *http.Request)

	// Registerer, when set, gets the counter shardline_lab_apifault_calls_total.
	Registerer prometheus.Registerer
	// Transport forwards calls upstream; default a transport of its own with keep-alives and
	// without transparent compression (the client's bytes pass through as they are).
	Transport http.RoundTripper
	// Logger; default discards.
	Logger *slog.Logger
}

// Validate reports the first problem with the configuration, defaults applied or not.
func (c Config) Validate() error {
	switch c.Service {
	case S3, Kinesis, DynamoDB:
	default:
		return fmt.Errorf("apifault: unknown service %q", c.Service)
	}
	u, err := url.Parse(c.Upstream)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("apifault: upstream %q is not an http(s) URL", c.Upstream)
	}
	if err := c.Default.validate(); err != nil {
		return fmt.Errorf("apifault: default rates: %w", err)
	}
	for op, r := range c.Ops {
		if err := r.validate(); err != nil {
			return fmt.Errorf("apifault: rates of %s: %w", op, err)
		}
	}
	if c.LatencyOnly && (c.Default != Rates{} || len(c.Ops) > 0) {
		return errors.New("apifault: LatencyOnly with fault rates set")
	}
	if err := c.Latency.validate(); err != nil {
		return fmt.Errorf("apifault: %w", err)
	}
	for op, l := range c.OpLatency {
		if err := l.validate(); err != nil {
			return fmt.Errorf("apifault: latency of %s: %w", op, err)
		}
	}
	return nil
}

func (c *Config) defaults() {
	if c.Listen == "" {
		c.Listen = "127.0.0.1:0"
	}
	c.Latency.defaults()
	if len(c.OpLatency) > 0 {
		ops := make(map[string]Latency, len(c.OpLatency)) // the caller's map stays as it was
		for op, l := range c.OpLatency {
			l.defaults()
			ops[op] = l
		}
		c.OpLatency = ops
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Transport == nil {
		c.Transport = &http.Transport{
			Proxy:                 nil,
			MaxIdleConns:          512,
			MaxIdleConnsPerHost:   256,
			IdleConnTimeout:       90 * time.Second,
			ExpectContinueTimeout: time.Second,
			DisableCompression:    true,
		}
	}
}

// latency returns the latency of op: its own entry, else Latency.
func (c *Config) latency(op string) Latency {
	if l, ok := c.OpLatency[op]; ok {
		return l
	}
	return c.Latency
}

// rates returns the fault rates of op: its own entry, else Default; none in latency-only mode.
func (c *Config) rates(op string) Rates {
	if c.LatencyOnly {
		return Rates{}
	}
	if r, ok := c.Ops[op]; ok {
		return r
	}
	return c.Default
}
