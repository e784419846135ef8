package apifault

import (
	"cmp"
	"errors"
	"slices"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Count is how many calls of one operation the proxy treated one way.
type Count struct {
	Service   Service
	Operation string
	Kind      Kind // KindNone counts calls forwarded without a fault
	N         int64
}

type countKey struct {
	op   string
	kind Kind
}

// counter counts calls per operation and kind, and mirrors them to Prometheus when a registry
// was given.
type counter struct {
	svc Service

	mu sync.Mutex
	n  map[countKey]int64

	metric *prometheus.CounterVec // nil without a registry
}

func newCounter(svc Service, reg prometheus.Registerer) (*counter, error) {
	c := &counter{svc: svc, n: map[countKey]int64{}}
	if reg == nil {
		return c, nil
	}
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "shardline_lab_apifault_calls_total",
		Help: "Calls through the AWS API fault proxy, by service, operation and what was injected (none: forwarded as is).",
	}, []string{"service", "operation", "kind"})
	if err := reg.Register(vec); err != nil {
		// Several proxies (one per service) share one registry: use the collector registered first.
		var are prometheus.AlreadyRegisteredError
		if !errors.As(err, &are) {
			return nil, err
		}
		existing, ok := are.ExistingCollector.(*prometheus.CounterVec)
		if !ok {
			return nil, err
		}
		vec = existing
	}
	c.metric = vec
	return c, nil
}

func (c *counter) add(op string, k Kind) {
	c.mu.Lock()
	c.n[countKey{op, k}]++
	c.mu.Unlock()
	if c.metric != nil {
		c.metric.WithLabelValues(string(c.svc), op, string(k)).Inc()
	}
}

func (c *counter) snapshot() []Count {
	c.mu.Lock()
	out := make([]Count, 0, len(c.n))
	for k, n := range c.n {
		out = append(out, Count{Service: c.svc, Operation: k.op, Kind: k.kind, N: n})
	}
	c.mu.Unlock()
	SortCounts(out)
	return out
}

// SortCounts orders counts by service, operation and kind.
func SortCounts(cs []Count) {
	slices.SortFunc(cs, func(a, b Count) int {
		return cmp.Or(cmp.Compare(a.Service, b.Service), cmp.Compare(a.Operation, b.Operation), cmp.Compare(a.Kind, b.Kind))
	})
}

// Total sums the counts of kind k.
func Total(cs []Count, k Kind) int64 {
	var n int64
	for _, c := range cs {
		if c.Kind == k {
			n += c.N
		}
	}
	return n
}
