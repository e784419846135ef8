package bucket

import (
	"errors"
	"strings"
	"testing"
)

func TestValid(t *testing.T) {
	tests := []struct {
		name   string
		bucket string
		ok     bool
	}{
		{"simple", "shardline-input", true},
		{"digits and dots", "my.bucket.2024", true},
		{"minimum length", "abc", true},
		{"maximum length", strings.Repeat("a", 63), true},
		{"starts with digit", "1bucket", true},
		{"dotted but not an IP", "192.168.5", true},
		{"too short", "ab", false},
		{"too long", strings.Repeat("a", 64), false},
		{"empty", "", false},
		{"uppercase", "MyBucket", false},
		{"underscore", "my_bucket", false},
		{"slash", "bucket/key", false},
		{"space", "my bucket", false},
		{"non-ascii", "bücket", false},
		{"starts with hyphen", "-bucket", false},
		{"ends with hyphen", "bucket-", false},
		{"starts with dot", ".bucket", false},
		{"ends with dot", "bucket.", false},
		{"adjacent dots", "my..bucket", false},
		{"ipv4", "192.168.5.4", false},
		{"s3 arn", "arn:aws:s3:::other-bucket", false},
		{"access point arn", "arn:aws:s3:us-east-1:123456789012:accesspoint/ap", false},
		{"xn-- prefix", "xn--bucket", false},
		{"sthree- prefix", "sthree-bucket", false},
		{"amzn-s3-demo- prefix", "amzn-s3-demo-bucket", false},
		{"access point alias", "myap-abcdefgh-s3alias", false},
		{"object lambda alias", "myolap--ol-s3", false},
		{"mrap suffix", "bucket.mrap", false},
		{"directory bucket", "bucket--usw2-az1--x-s3", false},
		{"table bucket suffix", "bucket--table-s3", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Valid(tc.bucket)
			if tc.ok && err != nil {
				t.Fatalf("Valid(%q) = %v, want nil", tc.bucket, err)
			}
			if !tc.ok {
				if err == nil {
					t.Fatalf("Valid(%q) = nil, want an error", tc.bucket)
				}
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("Valid(%q) = %v, does not wrap ErrInvalid", tc.bucket, err)
				}
			}
		})
	}
}

func TestParseAllowList(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    string
		wantErr bool
	}{
		{"empty allows all", "", "", false},
		{"blanks only", " , ,", "", false},
		{"one", "in-a", "in-a", false},
		{"several with blanks", " in-b , in-a,,in-b ", "in-a,in-b", false},
		{"invalid name", "in-a,Bad_Name", "", true},
		{"arn", "arn:aws:s3:::in-a", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, err := ParseAllowList(tc.in)
			if tc.wantErr {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("ParseAllowList(%q) error = %v, want ErrInvalid", tc.in, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseAllowList(%q): %v", tc.in, err)
			}
			if got := l.String(); got != tc.want {
				t.Fatalf("String() = %q, want %q", got, tc.want)
			}
			if l.Empty() != (tc.want == "") {
				t.Fatalf("Empty() = %v for %q", l.Empty(), tc.want)
			}
		})
	}
}

func TestAllowListCheck(t *testing.T) {
	tests := []struct {
		name   string
		list   string
		bucket string
		want   error
	}{
		{"empty list allows a valid name", "", "anything", nil},
		{"empty list still refuses an invalid name", "", "Bad_Name", ErrInvalid},
		{"empty list refuses an ARN", "", "arn:aws:s3:::in-a", ErrInvalid},
		{"member", "in-a,in-b", "in-b", nil},
		{"foreign", "in-a,in-b", "other", ErrNotAllowed},
		{"case differs", "in-a", "IN-A", ErrInvalid},
		{"prefix of a member", "in-ab", "in-a", ErrNotAllowed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := MustParseAllowList(tc.list)
			err := l.Check(tc.bucket)
			if tc.want == nil {
				if err != nil || !l.Allows(tc.bucket) {
					t.Fatalf("Check(%q) = %v, want nil", tc.bucket, err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("Check(%q) = %v, want %v", tc.bucket, err, tc.want)
			}
			if l.Allows(tc.bucket) {
				t.Fatalf("Allows(%q) = true", tc.bucket)
			}
		})
	}
}

func TestZeroAllowListAllowsAll(t *testing.T) {
	var l AllowList
	if !l.Empty() || !l.Allows("some-bucket") || l.Names() != nil {
		t.Fatal("zero AllowList must allow every valid bucket")
	}
}
