package sequencer

import (
	"errors"
	"testing"
)

func TestCompare(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		want int
	}{
		{"equal", "0055AED6DCD90281E5", "0055AED6DCD90281E5", 0},
		{"later", "0055AED6DCD90281E6", "0055AED6DCD90281E5", 1},
		{"earlier", "0055AED6DCD90281E4", "0055AED6DCD90281E5", -1},
		{"case insensitive", "0055aed6dcd90281e5", "0055AED6DCD90281E5", 0},
		{"shorter padded right equal", "0055AED6DCD90281", "0055AED6DCD9028100", 0},
		{"shorter padded right is earlier", "0055AED6DCD90281", "0055AED6DCD9028101", -1},
		{"shorter but larger prefix is later", "0056", "0055FFFFFFFFFFFFFF", 1},
		{"minio 16 digits", "1876A1C7E6A3B2F1", "1876A1C7E6A3B2F0", 1},
		{"numeric length does not matter", "1", "0FFFFFFFFFFFFFFF", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Compare(tc.a, tc.b)
			if err != nil {
				t.Fatalf("Compare(%q, %q): %v", tc.a, tc.b, err)
			}
			if got != tc.want {
				t.Fatalf("Compare(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
			}
			back, _ := Compare(tc.b, tc.a)
			if back != -tc.want {
				t.Fatalf("Compare not antisymmetric: Compare(%q, %q) = %d", tc.b, tc.a, back)
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    string
		wantErr bool
	}{
		{"upper and pad", "00ab", "00AB0000000000000000000000000000", false},
		{"full width", "0123456789ABCDEF0123456789ABCDEF", "0123456789ABCDEF0123456789ABCDEF", false},
		{"empty", "", "", true},
		{"non hex", "00XY", "", true},
		{"space", "00 1", "", true},
		{"too long", "0123456789ABCDEF0123456789ABCDEF0", "", true},
		{"unicode", "00é1", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Normalize(tc.in)
			if tc.wantErr {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("Normalize(%q) error = %v, want ErrInvalid", tc.in, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Normalize(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"", "0055AED6DCD90281E5", "00ab", "zz", "0123456789ABCDEF0123456789ABCDEF0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := Normalize(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if len(n) != Width {
			t.Fatalf("len(Normalize(%q)) = %d", s, len(n))
		}
		again, err := Normalize(n)
		if err != nil || again != n {
			t.Fatalf("Normalize not idempotent on %q: %q, %v", n, again, err)
		}
	})
}

func BenchmarkNormalize(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Normalize("0055AED6DCD90281E5"); err != nil {
			b.Fatal(err)
		}
	}
}
