package sequencer

import (
	"errors"
	"fmt"
)

// A normalised sequencer (Width = 32 hex digits) has two zones. Real S3 sequencers are 16 to 18
// hex digits (MinIO's are 16), right-padded with zeros, so they live in the first RealDigits
// digits and the rest is always zero; synthetic (repair) events count in the rest, the synthetic
// zone.

// RealDigits is how many leading digits of a normalised sequencer a real S3 sequencer may use.
// Synthetic sequencers keep these digits and count in the Width-RealDigits digits after them.
const RealDigits = 24

// FirstSynthetic is the synthetic sequencer of an object without a ledger entry: 00…01, below
// every real sequencer, so a real event still in flight applies after it.
const FirstSynthetic = "00000000000000000000000000000001"

// ErrNoRoom is returned by Synthetic when last leaves no room for a synthetic sequencer (real
// digits in the synthetic zone, or the zone exhausted).
var ErrNoRoom = errors.New("no room for a synthetic sequencer")

// Synthetic returns the normalised sequencer of a synthetic event (a repair: reconcile --fix,
// ledger reset) for an object whose ledger entry holds last ("" when the object has no entry).
//
// The ledger applies an event only if its sequencer is greater than the entry's, and keeps
// applying real S3 events afterwards only if theirs are greater still. A synthetic sequencer
// therefore keeps last's real digits and counts up in the synthetic zone (the last
// Width-RealDigits digits): it sorts after last (and after every earlier synthetic one), and
// before any later real event, which is larger than last in its real digits. With no entry it is
// FirstSynthetic. Both hold as long as real sequencers have at most RealDigits hex digits.
//
// An invalid last is an *Error (errors.Is(err, ErrInvalid)); a full zone wraps ErrNoRoom.
func Synthetic(last string) (string, error) {
	if last == "" {
		return FirstSynthetic, nil
	}
	norm, err := Normalize(last)
	if err != nil {
		return "", err
	}
	zone := []byte(norm[RealDigits:])
	for i := len(zone) - 1; i >= 0; i-- {
		switch c := zone[i]; c {
		case 'F':
			zone[i] = '0'
			continue
		case '9':
			zone[i] = 'A'
		default:
			zone[i] = c + 1
		}
		return norm[:RealDigits] + string(zone), nil
	}
	return "", fmt.Errorf("ledger sequencer %s: %w", norm, ErrNoRoom)
}
