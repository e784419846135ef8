package apifault

import (
	"math"
	"math/rand/v2"
	"time"
)

// decision is what the proxy does to one call.
type decision struct {
	kind  Kind
	delay time.Duration
	tail  bool // delay includes a latency tail
}

// decide draws the decision of one call with the given rates and latency. It always consumes
// the same number of draws from rng (four), whatever the outcome, so that one call's outcome
// does not shift the draws of the calls after it.
func decide(rng *rand.Rand, r Rates, l Latency) decision {
	u, jit, tailU, tailV := rng.Float64(), rng.Float64(), rng.Float64(), rng.Float64()
	d := decision{kind: choose(r, u)}
	d.delay, d.tail = l.draw(jit, tailU, tailV)
	return d
}

// choose maps a uniform draw u in [0, 1) to a fault kind: the rates are laid end to end in a
// fixed order (throttle, server error, reset, lost) and u picks the segment it falls in.
func choose(r Rates, u float64) Kind {
	for _, s := range []struct {
		p float64
		k Kind
	}{{r.Throttle, KindThrottle}, {r.ServerError, KindServerError}, {r.Reset, KindReset}, {r.Lost, KindLost}} {
		if u < s.p {
			return s.k
		}
		u -= s.p
	}
	return KindNone
}

// draw turns three uniform draws in [0, 1) into a delay: jit scales the jitter, tailU decides
// whether a tail is added and tailV sizes it (inverse CDF of a Pareto distribution).
func (l Latency) draw(jit, tailU, tailV float64) (time.Duration, bool) {
	d := float64(l.Base) + jit*float64(l.Jitter)
	tail := l.TailP > 0 && tailU < l.TailP && l.TailMin > 0
	if tail {
		alpha := l.TailAlpha
		if alpha <= 0 {
			alpha = 1.5
		}
		d += float64(l.TailMin) / math.Pow(1-tailV, 1/alpha)
	}
	if l.Max > 0 && d > float64(l.Max) {
		return l.Max, tail
	}
	return time.Duration(min(d, math.MaxInt64/2)), tail
}
