package modelstore

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// redrawEvery throttles a terminal progress line: fast enough to look live,
// slow enough that a 100 MB/s copy does not spend its time printing.
const redrawEvery = 100 * time.Millisecond

// meter counts the bytes of one file as they are written and shows them on w.
// On a terminal it redraws one line in place; anywhere else (a log, CI, a
// pipe) it prints a single line when the file is done, so logs stay clean.
// A meter is used by one goroutine at a time.
type meter struct {
	w     io.Writer
	tty   bool
	name  string
	total int64 // expected bytes
	n     int64 // bytes so far
	start time.Time
	drawn time.Time // when the line was last redrawn
	width int       // length of the last line drawn, to blank out leftovers
}

func newMeter(w io.Writer, tty bool, name string, total int64) *meter {
	now := time.Now()
	return &meter{w: w, tty: tty, name: name, total: total, start: now, drawn: now}
}

func (m *meter) Write(p []byte) (int, error) {
	m.n += int64(len(p))
	if m.tty {
		if now := time.Now(); now.Sub(m.drawn) >= redrawEvery {
			m.drawn = now
			m.draw("")
		}
	}
	return len(p), nil
}

// done ends the file's line with outcome ("ok", "failed", ...).
func (m *meter) done(outcome string) {
	if m.tty {
		m.draw(outcome)
		fmt.Fprintln(m.w)
		return
	}
	fmt.Fprintln(m.w, m.line(outcome))
}

func (m *meter) draw(outcome string) {
	line := m.line(outcome)
	pad := ""
	if len(line) < m.width {
		pad = strings.Repeat(" ", m.width-len(line))
	}
	m.width = len(line)
	fmt.Fprintf(m.w, "\r%s%s", line, pad)
}

// line renders "model.safetensors  43.2 MiB / 86.7 MiB   49%  91.3 MiB/s  ok".
func (m *meter) line(outcome string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s  %s / %s", m.name, formatBytes(m.n), formatBytes(m.total))
	if m.total > 0 {
		fmt.Fprintf(&b, "  %3d%%", m.n*100/m.total)
	}
	if secs := time.Since(m.start).Seconds(); secs > 0 {
		fmt.Fprintf(&b, "  %s/s", formatBytes(int64(float64(m.n)/secs)))
	}
	if outcome != "" {
		b.WriteString("  ")
		b.WriteString(outcome)
	}
	return b.String()
}

func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for v := n / unit; v >= unit; v /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// isTerminal reports whether w is a character device such as a terminal, the
// only place where redrawing a line with \r looks right.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
