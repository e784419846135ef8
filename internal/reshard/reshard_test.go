package reshard

import (
	"math/big"
	"testing"

	"github.com/shardline/shardline/internal/shardmap"
)

// layout is n shards of equal ranges named s0…, as CreateStream makes them.
func layout(n int) []shardmap.Shard {
	bounds := Boundaries(n)
	out := make([]shardmap.Shard, n)
	for i := range out {
		start, end := big.NewInt(0), new(big.Int).Sub(shardmap.HashSpace(), big.NewInt(1))
		if i > 0 {
			start = bounds[i-1]
		}
		if i < n-1 {
			end = new(big.Int).Sub(bounds[i], big.NewInt(1))
		}
		out[i] = shardmap.Shard{ID: "s" + string(rune('0'+i)), Start: start, End: end, Open: true}
	}
	return out
}

// simulate runs Plan's steps on open the way Kinesis would and returns the open shards after them.
func simulate(open []shardmap.Shard, n int) ([]shardmap.Shard, []Step) {
	steps := Plan(open, n)
	cur := append([]shardmap.Shard(nil), open...)
	for {
		s, ok := NextStep(cur, n)
		if !ok {
			return cur, steps
		}
		i := 0
		for cur[i].ID != s.Shards[0] {
			i++
		}
		switch s.Op {
		case "split":
			lo := shardmap.Shard{ID: cur[i].ID + "l", Start: cur[i].Start, End: new(big.Int).Sub(s.HashKey, big.NewInt(1)), Open: true}
			hi := shardmap.Shard{ID: cur[i].ID + "h", Start: s.HashKey, End: cur[i].End, Open: true}
			cur = append(cur[:i], append([]shardmap.Shard{lo, hi}, cur[i+1:]...)...)
		case "merge":
			m := shardmap.Shard{ID: cur[i].ID + "m", Start: cur[i].Start, End: cur[i+1].End, Open: true}
			cur = append(cur[:i], append([]shardmap.Shard{m}, cur[i+2:]...)...)
		}
	}
}

func TestScalePlanReachesUniformLayout(t *testing.T) {
	tests := []struct {
		name     string
		from, to int
		steps    int
	}{
		{"same", 2, 2, 0},
		{"double", 2, 4, 2},
		{"2 to 3", 2, 3, 3},
		{"3 to 2", 3, 2, 3},
		{"halve", 4, 2, 2},
		{"to one", 3, 1, 2},
		{"1 to 5", 1, 5, 4},
		{"5 to 3", 5, 3, 6},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, steps := simulate(layout(tc.from), tc.to)
			if !uniform(got, tc.to) {
				t.Fatalf("after %v: %d open shards, not %d equal ranges", steps, len(got), tc.to)
			}
			if len(steps) != tc.steps {
				t.Errorf("%d steps %v, want %d", len(steps), steps, tc.steps)
			}
			for i := 1; i < len(got); i++ {
				if !shardmap.Adjacent(got[i-1], got[i]) {
					t.Fatalf("gap between %s and %s", got[i-1].ID, got[i].ID)
				}
			}
		})
	}
}

func TestMidpoint(t *testing.T) {
	whole := layout(1)[0]
	mid, ok := Midpoint(whole)
	if !ok || mid.Cmp(new(big.Int).Lsh(big.NewInt(1), 127)) != 0 {
		t.Fatalf("midpoint of the whole space = %v", mid)
	}
	one := shardmap.Shard{Start: big.NewInt(7), End: big.NewInt(7)}
	if _, ok := Midpoint(one); ok {
		t.Fatal("a single hash key was split")
	}
	two := shardmap.Shard{Start: big.NewInt(7), End: big.NewInt(8)}
	if m, ok := Midpoint(two); !ok || m.Int64() != 8 {
		t.Fatalf("midpoint of [7,8] = %v", m)
	}
}
