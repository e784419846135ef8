package reconcile

import (
	"errors"
	"fmt"
	"strings"

	"github.com/shardline/shardline/internal/sequencer"
)

// The normalised sequencer (sequencer.Width = 32 hex digits) is split in two zones. Real S3
// sequencers are 16 to 18 hex digits (MinIO's are 16), right-padded with zeros, so they live in
// the first realDigits digits and the rest is always zero; repair events count in the rest.
const realDigits = 24

// ErrNoRoom is returned by SyntheticSequencer when the ledger's sequencer leaves no room for a
// repair event (real digits in the repair zone, or the zone exhausted).
var ErrNoRoom = errors.New("no room for a repair sequencer")

// SyntheticSequencer returns the normalised sequencer of a repair event for an object whose ledger
// entry holds last ("" when the object has no entry).
//
// The ledger applies an event only if its sequencer is greater than the entry's, and keeps
// applying real S3 events afterwards only if theirs are greater still. A repair event therefore
// keeps last's real digits and counts up in the repair zone (the last 8 digits): it sorts after
// last (and after every earlier repair), and before any later real event, which is larger than
// last in its real digits. With no entry it is 00…01, below every real sequencer, so a real event
// still in flight applies after it. Both hold as long as real sequencers have at most 24 hex
// digits.
func SyntheticSequencer(last string) (string, error) {
	if last == "" {
		return strings.Repeat("0", sequencer.Width-1) + "1", nil
	}
	norm, err := sequencer.Normalize(last)
	if err != nil {
		return "", err
	}
	zone := []byte(norm[realDigits:])
	for i := len(zone) - 1; i >= 0; i-- {
		switch c := zone[i]; {
		case c == 'F':
			zone[i] = '0'
			continue
		case c == '9':
			zone[i] = 'A'
		default:
			zone[i] = c + 1
		}
		return norm[:realDigits] + string(zone), nil
	}
	return "", fmt.Errorf("ledger sequencer %s: %w", norm, ErrNoRoom)
}
