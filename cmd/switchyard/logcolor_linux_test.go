package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal and returns its terminal side and what
// was written to it.
func openPTY(t *testing.T) (*os.File, *lockedBuffer) {
	t.Helper()
	ptm, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { ptm.Close() })
	if err := unix.IoctlSetPointerInt(int(ptm.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(ptm.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	pts, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pts.Close() })
	out := &lockedBuffer{}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := ptm.Read(buf)
			out.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}()
	return pts, out
}

// colours logs a line to a terminal with the console logger and reports
// whether it came out with ANSI colour codes.
func colours(t *testing.T, noColor bool) bool {
	t.Helper()
	pts, out := openPTY(t)
	log := newLogger("info", "console", pts, noColor)
	log.Info().Str("k", "v").Msg("hello")
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), "hello") {
		if time.Now().After(deadline) {
			t.Fatalf("the terminal got %q", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // the rest of the line
	return strings.Contains(out.String(), "\x1b[")
}

func TestConsoleLogColoursOnlyATerminal(t *testing.T) {
	file, err := os.Create(filepath.Join(t.TempDir(), "serve.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	log := newLogger("info", "console", file, false)
	log.Info().Str("k", "v").Msg("hello")
	b, _ := os.ReadFile(file.Name())
	if strings.Contains(string(b), "\x1b[") || !strings.Contains(string(b), "hello") {
		t.Errorf("a log file got %q", b)
	}

	if !colours(t, false) {
		t.Error("no colour on a terminal")
	}
	if colours(t, true) {
		t.Error("colour on a terminal with NO_COLOR")
	}
}
