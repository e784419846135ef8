package shardmap

import (
	"math/big"
	"testing"
)

func TestHashSpaceIsACopy(t *testing.T) {
	want := new(big.Int).Lsh(big.NewInt(1), 128)
	h := HashSpace()
	if h.Cmp(want) != 0 {
		t.Fatalf("HashSpace() = %v, want 2^128", h)
	}
	h.SetInt64(7) // a caller that computes in place must not change the next caller's value
	if got := HashSpace(); got.Cmp(want) != 0 {
		t.Fatalf("after modifying a returned value, HashSpace() = %v, want 2^128", got)
	}
	whole := Shard{Start: big.NewInt(0), End: new(big.Int).Sub(want, big.NewInt(1))}
	if s := whole.Share(); s != 1 {
		t.Fatalf("Share of the whole hash space = %v after modifying a returned value, want 1", s)
	}
}
