package cli

import (
	"fmt"
	"io"
	"strings"
	"time"

	chk "github.com/vmware/vmware-go-kcl-v2/clientlibrary/checkpoint"

	"github.com/shardline/shardline/internal/status"
)

// statusOutput prints status samples: tables (writeStatusText) or JSON, indented for one
// sample and one object per line with --watch. With --watch, a terminal is redrawn for each
// sample; elsewhere a blank line separates the tables.
type statusOutput struct {
	w                    io.Writer
	asJSON, watch, clear bool
}

func newStatusOutput(w io.Writer, asJSON, watch bool) statusOutput {
	return statusOutput{w: w, asJSON: asJSON, watch: watch, clear: watch && !asJSON && opsIsTerminal(w)}
}

func (o statusOutput) write(r status.Report) error {
	switch {
	case o.clear:
		fmt.Fprint(o.w, "\x1b[H\x1b[2J")
	case o.watch && !o.asJSON:
		fmt.Fprintln(o.w)
	}
	if o.asJSON {
		return opsJSON(o.w, r, !o.watch)
	}
	return writeStatusText(o.w, r)
}

// writeStatusText writes a report as tables a person can read at a glance: one row per shard, then one
// per worker. Sequence numbers are shortened to their last digits (the JSON form has them whole).
func writeStatusText(w io.Writer, r status.Report) error {
	open, closed := 0, 0
	for _, s := range r.Shards {
		if s.IsOpen() {
			open++
		} else {
			closed++
		}
	}
	live := 0
	for _, wk := range r.Workers {
		if len(wk.Shards) > 0 {
			live++
		}
	}
	return writeText(w, func(b *strings.Builder) error {
		fmt.Fprintf(b, "stream %s at %s: %d open and %d closed shards, %s holding leases\n\n",
			r.Stream, r.At.Format(time.RFC3339), open, closed, opsPlural(live, "worker"))
		if err := table(b, "SHARD\tSTATE\tPARENTS\tHASH\tOWNER\tLEASE\tCHECKPOINT\tLAG\tBEHIND\tIN/s\tOUT/s", func(tw io.Writer) {
			for _, s := range r.Shards {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
					s.ID, s.State, parents(s.Parents), share(s), orDash(s.Owner),
					lease(s, r.At), shortCheckpoint(s.Checkpoint), lagRecords(s.Lag), behind(s.Lag),
					rate(s.IncomingPerSecond, s.RatesAtLeast), rate(s.ProcessedPerSecond, s.RatesAtLeast))
			}
		}); err != nil {
			return err
		}
		for _, s := range r.Shards {
			if s.Error != "" {
				fmt.Fprintf(b, "  %s: %s\n", s.ID, s.Error)
			}
		}
		b.WriteString("\n")
		if len(r.Workers) == 0 {
			b.WriteString("no worker holds a lease\n")
		} else {
			if err := table(b, "WORKER\tSHARDS\tHELD", func(tw io.Writer) {
				for _, wk := range r.Workers {
					held := strings.Join(wk.Shards, " ")
					if len(wk.Expired) > 0 {
						held = strings.TrimSpace(held + " (expired: " + strings.Join(wk.Expired, " ") + ")")
					}
					fmt.Fprintf(tw, "%s\t%d\t%s\n", wk.ID, len(wk.Shards), orDash(held))
				}
			}); err != nil {
				return err
			}
		}
		if len(r.Orphans) > 0 {
			fmt.Fprintf(b, "lease rows of shards past retention: %s\n", strings.Join(r.Orphans, " "))
		}
		return nil
	})
}

// share is the shard's part of the hash-key space; closed shards no longer receive records.
func share(s status.Shard) string {
	if !s.IsOpen() {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*s.HashShare)
}

func parents(p []string) string {
	if len(p) == 0 {
		return "-"
	}
	return strings.Join(p, "+")
}

func lease(s status.Shard, now time.Time) string {
	switch {
	case s.ClaimRequest != "" && s.LeaseLive:
		return "claimed by " + s.ClaimRequest
	case s.Owner == "" || s.LeaseExpires == nil:
		return "free"
	case s.LeaseLive:
		return "expires in " + human(s.LeaseExpires.Sub(now))
	default:
		return "expired " + human(now.Sub(*s.LeaseExpires)) + " ago"
	}
}

// shortCheckpoint keeps the last 10 digits of a sequence number: enough to tell positions in one
// shard apart.
func shortCheckpoint(cp string) string {
	switch {
	case cp == "":
		return "TRIM_HORIZON"
	case cp == chk.ShardEnd:
		return cp
	case len(cp) > 10:
		return "…" + cp[len(cp)-10:]
	}
	return cp
}

func lagRecords(l *status.Lag) string {
	if l == nil {
		return "-"
	}
	if l.AtLeast {
		return fmt.Sprintf("≥%d", l.Records)
	}
	return fmt.Sprint(l.Records)
}

func behind(l *status.Lag) string {
	if l == nil {
		return "-"
	}
	return human(time.Duration(l.BehindSeconds * float64(time.Second)))
}

func rate(v *float64, atLeast bool) string {
	if v == nil {
		return "-"
	}
	s := fmt.Sprintf("%.1f", *v)
	if atLeast {
		s = "≥" + s
	}
	return s
}

// human formats a duration compactly: 0s, 850ms, 4.2s, 3m07s, 2h05m.
func human(d time.Duration) string {
	switch {
	case d <= 0:
		return "0s"
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}
