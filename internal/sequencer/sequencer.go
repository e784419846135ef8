// Package sequencer normalises and compares S3 event sequencers.
//
// S3 documents the rule: for one object key, compare the hexadecimal sequencer strings after
// right-padding the shorter one with zeros; the larger value is the later event. Sequencers of
// different keys are never comparable. Shardline stores sequencers in a normalised form (upper-case
// hex, right-padded with '0' to Width) so that plain string comparison, including DynamoDB's
// comparison in a ConditionExpression, equals the S3 rule.
package sequencer

import (
	"errors"
	"fmt"
	"strings"
)

// Width is the length of every normalised sequencer. S3 sequencers seen in practice are 16 to 18
// hex digits; 32 leaves room without making ledger items large.
const Width = 32

// ErrInvalid is returned (wrapped in *Error) for any sequencer that cannot be normalised.
var ErrInvalid = errors.New("invalid sequencer")

// Error says why a sequencer was rejected.
type Error struct {
	Value  string
	Reason string
}

func (e *Error) Error() string {
	v := e.Value
	if len(v) > 40 {
		v = v[:40] + "…"
	}
	return fmt.Sprintf("invalid sequencer %q: %s", v, e.Reason)
}

// Unwrap lets errors.Is(err, ErrInvalid) match.
func (e *Error) Unwrap() error { return ErrInvalid }

// Normalize returns the canonical form of an S3 sequencer: upper-case hex, right-padded with '0'
// to Width characters. Empty, non-hex and over-long values are rejected with an *Error.
func Normalize(s string) (string, error) {
	if s == "" {
		return "", &Error{Value: s, Reason: "empty"}
	}
	if len(s) > Width {
		return "", &Error{Value: s, Reason: fmt.Sprintf("longer than %d hex digits", Width)}
	}
	var b strings.Builder
	b.Grow(Width)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9', c >= 'A' && c <= 'F':
			b.WriteByte(c)
		case c >= 'a' && c <= 'f':
			b.WriteByte(c - 'a' + 'A')
		default:
			return "", &Error{Value: s, Reason: fmt.Sprintf("non-hex character at offset %d", i)}
		}
	}
	for b.Len() < Width {
		b.WriteByte('0')
	}
	return b.String(), nil
}

// Compare orders two sequencers of the same key by the S3 rule: it returns -1 if a is earlier than
// b, 0 if they denote the same event, +1 if a is later. Both must be valid; an invalid one is an
// error so callers never order events on garbage.
func Compare(a, b string) (int, error) {
	na, err := Normalize(a)
	if err != nil {
		return 0, err
	}
	nb, err := Normalize(b)
	if err != nil {
		return 0, err
	}
	return strings.Compare(na, nb), nil
}
