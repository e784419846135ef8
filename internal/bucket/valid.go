package bucket

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// ErrInvalid is wrapped by every error Valid returns, so callers can classify
// a refusal with errors.Is.
var ErrInvalid = errors.New("invalid bucket name")

// Reserved prefixes and suffixes from S3's general purpose bucket naming rules
// (access-point aliases, Object Lambda aliases, multi-region access points,
// directory and table buckets, punycode).
var (
	reservedPrefixes = []string{"xn--", "sthree-", "amzn-s3-demo-"}
	reservedSuffixes = []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"}
)

// Valid reports whether name follows S3's naming rules for general purpose
// buckets: 3 to 63 characters; only lowercase letters, digits, dots and
// hyphens; starting and ending with a letter or digit; no two adjacent dots;
// not formatted as an IPv4 address; none of the reserved prefixes (xn--,
// sthree-, amzn-s3-demo-) or suffixes (-s3alias, --ol-s3, .mrap, --x-s3,
// --table-s3). An ARN is never valid. The error wraps ErrInvalid and says
// which rule failed.
func Valid(name string) error {
	bad := func(reason string) error {
		return fmt.Errorf("%w %q: %s", ErrInvalid, name, reason)
	}
	if strings.HasPrefix(name, "arn:") {
		return bad("an ARN is not a bucket name")
	}
	if len(name) < 3 || len(name) > 63 {
		return bad("must be 3 to 63 characters long")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return bad(fmt.Sprintf("character %q at %d is not a lowercase letter, digit, dot or hyphen", c, i))
		}
	}
	if !alnum(name[0]) || !alnum(name[len(name)-1]) {
		return bad("must begin and end with a letter or digit")
	}
	if strings.Contains(name, "..") {
		return bad("must not contain two adjacent dots")
	}
	if addr, err := netip.ParseAddr(name); err == nil && addr.Is4() {
		return bad("must not be formatted as an IP address")
	}
	for _, p := range reservedPrefixes {
		if strings.HasPrefix(name, p) {
			return bad("reserved prefix " + p)
		}
	}
	for _, s := range reservedSuffixes {
		if strings.HasSuffix(name, s) {
			return bad("reserved suffix " + s)
		}
	}
	return nil
}

func alnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }
