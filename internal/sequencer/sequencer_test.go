package sequencer

import (
	"errors"
	"strings"
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
		{"odd length is padded, not rejected", "ABC", "ABC00000000000000000000000000000", false},
		{"single digit", "7", "70000000000000000000000000000000", false},
		{"lower case is upper-cased", "0055aed6dcd90281e5", "0055AED6DCD90281E50000000000000000"[:Width], false},
		{"mixed case", "aBcDeF", "ABCDEF00000000000000000000000000", false},
		{"already normalised is unchanged", "0055AED6DCD90281E500000000000000", "0055AED6DCD90281E500000000000000", false},
		{"empty", "", "", true},
		{"non hex", "00XY", "", true},
		{"0x prefix", "0x55AED6", "", true},
		{"leading space", " 0055", "", true},
		{"trailing newline", "0055\n", "", true},
		{"space", "00 1", "", true},
		{"minus sign", "-1", "", true},
		{"NUL byte", "00\x001", "", true},
		{"too long", "0123456789ABCDEF0123456789ABCDEF0", "", true},
		{"unicode", "00é1", "", true},
		{"full-width digits", "００１", "", true},
		{"invalid UTF-8", "00\xff", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Normalize(tc.in)
			if tc.wantErr {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("Normalize(%q) error = %v, want ErrInvalid", tc.in, err)
				}
				var se *Error
				if !errors.As(err, &se) || se.Reason == "" || se.Value != tc.in {
					t.Fatalf("Normalize(%q) error %v is not an *Error with the value and a reason", tc.in, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Normalize(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

// TestErrorReasons checks that a rejection says why, and where for a bad character.
func TestErrorReasons(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", "empty"},
		{"too long", strings.Repeat("A", Width+1), "longer than 32 hex digits"},
		{"bad character offset", "00A0g", "non-hex character at offset 4"},
		{"hostile value is clipped", strings.Repeat("z", 10_000), "longer than 32"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Normalize(tc.in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Normalize error %v, want one saying %q", err, tc.want)
			}
			if len(err.Error()) > 200 {
				t.Errorf("error text is %d bytes; the value must be clipped", len(err.Error()))
			}
		})
	}
}

// FuzzNormalize checks that Normalize never panics, rejects only with ErrInvalid, and that an
// accepted value normalises to Width upper-case hex digits, is idempotent and compares equal to
// its input under the S3 rule. Its seed corpus is f.Add below plus testdata/fuzz/FuzzNormalize.
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
		if strings.ToUpper(s) != n[:len(s)] || strings.Trim(n[len(s):], "0") != "" {
			t.Fatalf("Normalize(%q) = %q is not the upper-cased input padded with 0", s, n)
		}
		if c, err := Compare(s, n); err != nil || c != 0 {
			t.Fatalf("Compare(%q, Normalize(%[1]q)) = %d, %v; want 0", s, c, err)
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
