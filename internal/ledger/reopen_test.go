package ledger

import "testing"

func TestPredecessor(t *testing.T) {
	tests := []struct{ in, want string }{
		{"0000000000000B00", "0000000000000AFF"},
		{"00000000000000A1", "00000000000000A0"},
		{"0000000000000010", "000000000000000F"},
		{"00000000000000B0", "00000000000000AF"},
		{"0000000000000001", "0000000000000000"},
	}
	for _, tc := range tests {
		got, err := predecessor(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("predecessor(%s) = %q, %v; want %s", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"0000", "00G1"} {
		if _, err := predecessor(bad); err == nil {
			t.Errorf("predecessor(%s) accepted", bad)
		}
	}
}
