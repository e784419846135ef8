package bucket

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ErrNotAllowed is returned by AllowList.Check for a valid bucket name that is
// not on a non-empty allow-list.
var ErrNotAllowed = errors.New("bucket not on the allow-list")

// AllowList is a set of input bucket names. The zero value (and an empty
// list) allows every valid bucket name; a non-empty list allows exactly its
// members. An AllowList is immutable after parsing and safe for concurrent use.
type AllowList struct {
	names map[string]struct{}
}

// ParseAllowList parses a comma-separated list of bucket names, as given to a
// flag such as --input-buckets. Blanks around names and empty items are
// ignored, so "" yields the empty (allow-all) list. Every name must pass
// Valid; the error names the first one that does not.
func ParseAllowList(s string) (AllowList, error) {
	var l AllowList
	for _, item := range strings.Split(s, ",") {
		name := strings.TrimSpace(item)
		if name == "" {
			continue
		}
		if err := Valid(name); err != nil {
			return AllowList{}, fmt.Errorf("allow-list: %w", err)
		}
		if l.names == nil {
			l.names = make(map[string]struct{})
		}
		l.names[name] = struct{}{}
	}
	return l, nil
}

// MustParseAllowList is ParseAllowList for constants in tests and examples;
// it panics on an invalid name.
func MustParseAllowList(s string) AllowList {
	l, err := ParseAllowList(s)
	if err != nil {
		panic(err)
	}
	return l
}

// Empty reports whether the list allows every valid bucket.
func (l AllowList) Empty() bool { return len(l.names) == 0 }

// Allows reports whether name is a valid bucket name that the list allows.
func (l AllowList) Allows(name string) bool { return l.Check(name) == nil }

// Check returns nil if name is a valid bucket name that the list allows, an
// error wrapping ErrInvalid if the name breaks S3's naming rules, and one
// wrapping ErrNotAllowed if it is valid but not on a non-empty list.
func (l AllowList) Check(name string) error {
	if err := Valid(name); err != nil {
		return err
	}
	if l.Empty() {
		return nil
	}
	if _, ok := l.names[name]; !ok {
		return fmt.Errorf("%w: %q", ErrNotAllowed, name)
	}
	return nil
}

// Names returns the allowed names, sorted; nil for the allow-all list.
func (l AllowList) Names() []string {
	if l.Empty() {
		return nil
	}
	out := make([]string, 0, len(l.names))
	for n := range l.names {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// String returns the list in the form ParseAllowList reads ("" for allow-all).
func (l AllowList) String() string { return strings.Join(l.Names(), ",") }
