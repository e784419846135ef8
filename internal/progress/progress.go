// Package progress shows live counters for long-running commands (reprocess, redrive,
// reconcile): on a terminal one line rewritten in place, elsewhere (logs, CI) a plain line at most
// every few seconds, so that output stays readable in both.
package progress

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// Line is a rate-limited status line. It is safe for concurrent use.
type Line struct {
	w        io.Writer
	tty      bool
	interval time.Duration
	now      func() time.Time

	mu      sync.Mutex
	last    time.Time
	pending string
	shown   bool
}

// New returns a Line writing to w. On a terminal it redraws at most every 100ms; elsewhere it
// writes a line at most every 2s.
func New(w io.Writer) *Line {
	l := &Line{w: w, interval: 2 * time.Second, now: time.Now}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			l.tty, l.interval = true, 100*time.Millisecond
		}
	}
	return l
}

// Printf updates the line; it is written now if the interval has passed since the last write.
func (l *Line) Printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pending = fmt.Sprintf(format, args...)
	if l.now().Sub(l.last) >= l.interval {
		l.flush()
	}
}

// Done writes the latest line (if it was not written yet) and ends it.
func (l *Line) Done() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.pending != "" {
		l.flush()
	}
	if l.tty && l.shown {
		fmt.Fprintln(l.w)
	}
	l.shown = false
}

func (l *Line) flush() {
	if l.tty {
		fmt.Fprintf(l.w, "\r%s\x1b[K", l.pending)
	} else {
		fmt.Fprintln(l.w, l.pending)
	}
	l.pending, l.last, l.shown = "", l.now(), true
}
