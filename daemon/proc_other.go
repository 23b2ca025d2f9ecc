//go:build !unix

package daemon

import (
	"os"
	"syscall"
)

// Background servers are managed on Unix only; elsewhere the package
// compiles, and a started server is found by its pid file alone.

func detached() *syscall.SysProcAttr { return nil }

func interrupt(p *os.Process) error { return p.Kill() }

func alive(pid int, _ func([]string) bool) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	p.Release()
	return true
}
