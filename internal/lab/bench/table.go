package bench

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// row is one line of the table. target and met are empty for figures without a target.
type row struct {
	section string
	what    string
	figure  string
	target  string
	met     string // "yes", "no" or ""
	note    string
}

// table collects the rows in the order they were measured.
type table struct {
	rows   []row
	failed bool
}

func (t *table) add(r row) { t.rows = append(t.rows, r) }

// fail records a measurement that could not be made; the run then exits non-zero.
func (t *table) fail(section, what, target string, err error) {
	t.failed = true
	met := ""
	if target != "" {
		met = "no"
	}
	t.rows = append(t.rows, row{section: section, what: what, figure: "not measured", target: target, met: met,
		note: "error: " + oneLine(err.Error())})
}

// write prints the rows as one aligned table; the section name is printed on the first row of
// each section only.
func (t *table) write(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SECTION\tMEASUREMENT\tFIGURE\tTARGET\tMET\tNOTES")
	prev := ""
	for _, r := range t.rows {
		section := r.section
		if section == prev {
			section = ""
		}
		prev = r.section
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", section, r.what, r.figure, dash(r.target), dash(r.met), r.note)
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// yesNo renders whether a target was met.
func yesNo(ok bool) string {
	if ok {
		return "yes"
	}
	return "no"
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return s
}

// mib renders a byte count in MiB.
func mib(bytes int64) string { return fmt.Sprintf("%.1f MiB", float64(bytes)/(1<<20)) }

// perSecond renders a rate with a precision that suits its size.
func perSecond(v float64, unit string) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f %s", v, unit)
	case v >= 10:
		return fmt.Sprintf("%.1f %s", v, unit)
	default:
		return fmt.Sprintf("%.2f %s", v, unit)
	}
}

// times renders a ratio as a multiple.
func times(v float64) string { return fmt.Sprintf("%.2f×", v) }

// ms renders a duration in milliseconds or seconds.
func ms(d time.Duration) string {
	if d >= 10*time.Second {
		return fmt.Sprintf("%.1f s", d.Seconds())
	}
	if d >= time.Second {
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
	return fmt.Sprintf("%d ms", d.Milliseconds())
}
