//go:build unix

package daemon

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
)

// detached puts the child in a session of its own, so that it has no
// controlling terminal and the terminal's hang-up does not reach it.
func detached() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: true} }

func interrupt(p *os.Process) error { return p.Signal(syscall.SIGTERM) }

// alive reports whether pid is a live process whose command line match
// accepts. A zombie has no command line, so it counts as gone.
func alive(pid int, match func([]string) bool) bool {
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	argv, ok := cmdline(pid)
	if !ok {
		return true // cannot tell: assume ours rather than start a second
	}
	return len(argv) > 0 && (match == nil || match(argv))
}

// cmdline is pid's argv: /proc on Linux, ps elsewhere.
func cmdline(pid int) ([]string, bool) {
	if runtime.GOOS == "linux" {
		b, err := os.ReadFile("/proc/" + itoa(pid) + "/cmdline")
		if errors.Is(err, os.ErrNotExist) {
			return nil, true
		}
		if err != nil {
			return nil, false
		}
		b = bytes.TrimRight(b, "\x00")
		if len(b) == 0 {
			return nil, true
		}
		return strings.Split(string(b), "\x00"), true
	}
	out, err := exec.Command("ps", "-o", "command=", "-p", itoa(pid)).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return nil, true // ps ran and found no such process
		}
		return nil, false
	}
	return strings.Fields(string(out)), true
}
