package checkpoint

import (
	"testing"

	chk "github.com/vmware/vmware-go-kcl-v2/clientlibrary/checkpoint"
)

func TestOrder(t *testing.T) {
	a, _ := Order("9")
	b, _ := Order("10")
	end, _ := Order(chk.ShardEnd)
	long, _ := Order("49590338271490256608559692538361571095921575989136588898")
	if !(a < b && b < long && long < end) {
		t.Fatalf("order wrong: %q %q %q %q", a, b, long, end)
	}
	for _, bad := range []string{"", "12a", "-1"} {
		if _, err := Order(bad); err == nil {
			t.Errorf("Order(%q) accepted", bad)
		}
	}
}
