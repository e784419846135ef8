package checkpoint

import "time"

// timeLayout is how the lease table stores times (LeaseTimeout, ClaimTime): RFC 3339 in UTC with
// all nine fraction digits. Fixed width makes DynamoDB's string comparison (ClaimShard's test of
// whether an earlier claim has expired) agree with time order. time.RFC3339Nano drops trailing
// zeros, and since '.' sorts before 'Z', "…:05.5Z" < "…:05Z": order was wrong below a second.
const timeLayout = "2006-01-02T15:04:05.000000000Z"

// formatTime returns t in the lease table's fixed-width form.
func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// parseTime reads a time of the lease table: the fixed-width form, or the variable-width
// RFC 3339 that earlier versions (and the KCL's own checkpointer) wrote. Anything else, or
// nothing, is the zero time.
//
// Rows of the earlier form still compare right against fixed-width times in DynamoDB when they
// differ by a second or more; within one second a whole-second value sorts after the fractions
// of that second, so an old claim can appear up to a second younger than it is, until it is
// rewritten.
func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}
