package apifault

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"
)

// Proxy is a running fault-injecting reverse proxy in front of one AWS service endpoint.
type Proxy struct {
	cfg      Config
	ln       net.Listener
	upstream *url.URL
	rp       *httputil.ReverseProxy
	counts   *counter

	mu  sync.Mutex // guards rng
	rng *rand.Rand
}

// New validates cfg and binds the proxy's listener, so Addr is known before Run.
func New(cfg Config) (*Proxy, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.defaults()
	up, _ := url.Parse(cfg.Upstream) // validated
	counts, err := newCounter(cfg.Service, cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("apifault: metrics: %w", err)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("apifault: listen %s: %w", cfg.Listen, err)
	}
	p := &Proxy{
		cfg: cfg, ln: ln, upstream: up, counts: counts,
		rng: rand.New(rand.NewPCG(cfg.Seed, 0xa91f)),
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme, pr.Out.URL.Host = up.Scheme, up.Host
			pr.Out.Host = pr.In.Host // the client signed this Host: keep it, or SigV4 fails
		},
		Transport:      cfg.Transport,
		ModifyResponse: p.loseResponse,
		ErrorHandler:   p.forwardError,
		ErrorLog:       slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelDebug),
	}
	return p, nil
}

// Addr is the proxy's listening address (host:port).
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// URL is the proxy's endpoint URL, the value for AWS_ENDPOINT_URL_<SERVICE>.
func (p *Proxy) URL() string { return "http://" + p.Addr() }

// Service is the service behind the proxy.
func (p *Proxy) Service() Service { return p.cfg.Service }

// Counts returns a snapshot of what the proxy did so far, per operation and kind, sorted.
// KindSlow counts calls that also got a latency tail, in addition to their own kind.
func (p *Proxy) Counts() []Count { return p.counts.snapshot() }

// Run serves until ctx is done, then stops accepting calls, cancels the ones in flight (their
// contexts derive from ctx) and returns once the server has stopped. It closes the listener.
func (p *Proxy) Run(ctx context.Context) error {
	srv := &http.Server{
		Handler:           p,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          slog.NewLogLogger(p.cfg.Logger.Handler(), slog.LevelDebug),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(p.ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("apifault %s proxy: %w", p.cfg.Service, err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
	}
	<-served // http.ErrServerClosed
	return nil
}

// lostKey marks, in a forwarded request's context, a call whose response is to be lost.
type lostKey struct{}

// lost records whether a lost call completed upstream.
type lost struct {
	op        string
	completed bool
}

// errLost is how loseResponse tells forwardError to reset the client's connection.
var errLost = errors.New("apifault: response lost")

// ServeHTTP handles one call: delay it, then forward it or inject the drawn fault.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op := Operation(p.cfg.Service, r)
	d, id := p.draw(op)
	if d.tail {
		p.counts.add(op, KindSlow)
	}
	if d.delay > 0 {
		t := time.NewTimer(d.delay)
		select {
		case <-r.Context().Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
	// Each call is counted before the client can see its outcome, so a caller that saw a fault
	// finds it in Counts.
	switch d.kind {
	case KindThrottle, KindServerError:
		p.injected(op, d)
		rep := errorReply(p.cfg.Service, op, d.kind, isRPCV2(r), id)
		for k, v := range rep.header {
			w.Header()[k] = v
		}
		w.WriteHeader(rep.status)
		if r.Method != http.MethodHead {
			_, _ = w.Write(rep.body)
		}
	case KindReset:
		p.injected(op, d)
		resetConn(w)
	case KindLost:
		p.beforeForward(op, r)
		l := &lost{op: op}
		p.rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), lostKey{}, l)))
		if !l.completed {
			p.counts.add(op, KindNone) // the upstream failed on its own: nothing was lost by us
		}
	default:
		p.beforeForward(op, r)
		p.counts.add(op, KindNone)
		p.rp.ServeHTTP(w, r)
	}
}

func (p *Proxy) beforeForward(op string, r *http.Request) {
	if p.cfg.BeforeForward != nil {
		p.cfg.BeforeForward(op, r)
	}
}

func (p *Proxy) injected(op string, d decision) {
	p.counts.add(op, d.kind)
	p.cfg.Logger.Debug("apifault: injected", slog.String("service", string(p.cfg.Service)),
		slog.String("operation", op), slog.String("kind", string(d.kind)), slog.Duration("delay", d.delay))
}

// draw takes the decision for one call of op, and a request id for an injected error.
func (p *Proxy) draw(op string) (decision, [16]byte) {
	rates := p.cfg.rates(op)
	var id [16]byte
	p.mu.Lock()
	defer p.mu.Unlock()
	d := decide(p.rng, rates, p.cfg.latency(op))
	for i := 0; i < len(id); i += 8 {
		v := p.rng.Uint64()
		for j := range 8 {
			id[i+j] = byte(v >> (8 * j))
		}
	}
	return d, id
}

// loseResponse runs on the upstream's response of every forwarded call: it calls AfterForward,
// if set, and, for a call marked lost
// it reads the whole response (the call has completed upstream) and returns errLost, so that
// forwardError resets the client's connection instead of replying.
func (p *Proxy) loseResponse(resp *http.Response) error {
	if p.cfg.AfterForward != nil {
		p.cfg.AfterForward(Operation(p.cfg.Service, resp.Request), resp.Request)
	}
	l, ok := resp.Request.Context().Value(lostKey{}).(*lost)
	if !ok {
		return nil
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return fmt.Errorf("read upstream response: %w", err)
	}
	l.completed = true
	p.injected(l.op, decision{kind: KindLost})
	return errLost
}

// forwardError handles a failed forward: a lost response resets the client's connection; an
// unreachable upstream is a 502, as a load balancer in front of AWS would answer.
func (p *Proxy) forwardError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, errLost) {
		resetConn(w)
		return
	}
	if r.Context().Err() != nil {
		return // the client went away
	}
	p.cfg.Logger.Debug("apifault: upstream failed", slog.String("service", string(p.cfg.Service)), slog.String("error", err.Error()))
	w.WriteHeader(http.StatusBadGateway)
}

// resetConn takes the client's connection from the server and closes it with SO_LINGER 0, so
// the client sees a TCP reset, not an orderly close.
func resetConn(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler) // the server closes the connection without a reply
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}
