// Package daemon runs a server in the background and finds it again: a
// detached child process, its pid file, a record of where it answers,
// and its log file. It is what `switchyard start|stop|status` use; the
// caller says what to run and how to tell it is ready.
package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Files are the daemon's files. Their directories are created as needed.
type Files struct {
	PID    string // the pid file: the pid and a newline, as other tools expect
	Record string // the Record, JSON, beside the pid file
	Log    string // the server's stdout and stderr, appended to
}

// Record is what start knows about the server it started.
type Record struct {
	PID     int       `json:"pid"`
	URL     string    `json:"url"`
	Log     string    `json:"log"`
	Config  string    `json:"config"`
	Started time.Time `json:"started"`
}

// ErrNotRunning reports that no server of ours is running.
var ErrNotRunning = errors.New("not running")

// RunningError reports a server already running, by its pid.
type RunningError struct{ PID int }

func (e *RunningError) Error() string {
	return fmt.Sprintf("already running (pid %d)", e.PID)
}

// Spec says how to start the server.
type Spec struct {
	// Path is the executable; Args its arguments, without argv[0].
	Path string
	Args []string
	// Env is the environment; nil means none.
	Env []string
	// Match reports whether a process's command line (argv) is this
	// server, so that a pid file left by a crash and reused by another
	// program is recognised as stale.
	Match func(argv []string) bool
	// Ready reports whether the started server answers; it is called
	// every ReadyEvery until it returns nil.
	Ready func(ctx context.Context) error
	// Wait bounds the wait for Ready. Default 60 s.
	Wait time.Duration
	// Record is stored beside the pid file; PID and Started are filled in.
	Record Record
}

// readyEvery is how often Start asks Spec.Ready.
const readyEvery = 100 * time.Millisecond

// Find returns the record of the running server. It returns
// ErrNotRunning when there is none; stale is then true when a pid file
// was left by a process that is gone (or is not ours).
func Find(f Files, match func([]string) bool) (r Record, stale bool, err error) {
	pid, err := readPID(f.PID)
	if errors.Is(err, os.ErrNotExist) {
		return Record{}, false, ErrNotRunning
	}
	if err != nil {
		return Record{}, true, ErrNotRunning // unreadable: a broken file is a stale one
	}
	if !alive(pid, match) {
		return Record{PID: pid}, true, ErrNotRunning
	}
	r = Record{PID: pid}
	if b, err := os.ReadFile(f.Record); err == nil {
		var rec Record
		if json.Unmarshal(b, &rec) == nil && rec.PID == pid {
			r = rec
		}
	}
	return r, false, nil
}

// Start runs spec in the background, detached from the caller's session
// and terminal (stdin /dev/null, stdout and stderr to f.Log), writes the
// pid file and the record, and waits until spec.Ready succeeds. If a
// server is already running it returns a *RunningError; a stale pid file
// is replaced. If the server exits or does not become ready in time, it
// is stopped, its files are removed, and the error carries the tail of
// its log.
func Start(ctx context.Context, f Files, spec Spec) (Record, error) {
	for _, p := range []string{f.PID, f.Record, f.Log} {
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return Record{}, err
		}
	}
	pidFile, err := claim(f, spec.Match)
	if err != nil {
		return Record{}, err
	}
	release := func() {
		pidFile.Close()
		os.Remove(f.PID)
		os.Remove(f.Record)
	}
	logFile, err := os.OpenFile(f.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		release()
		return Record{}, fmt.Errorf("open the log: %w", err)
	}
	defer logFile.Close()
	logStart, _ := logFile.Seek(0, io.SeekEnd)

	cmd := exec.Command(spec.Path, spec.Args...)
	cmd.Env = spec.Env
	if cmd.Env == nil {
		cmd.Env = []string{}
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile // stdin stays nil: /dev/null
	cmd.SysProcAttr = detached()
	if err := cmd.Start(); err != nil {
		release()
		return Record{}, fmt.Errorf("start %s: %w", spec.Path, err)
	}
	rec := spec.Record
	rec.PID, rec.Started = cmd.Process.Pid, time.Now().UTC()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	fail := func(format string, args ...any) (Record, error) {
		release()
		return Record{}, fmt.Errorf(format+"%s", append(args, tail(f.Log, logStart))...)
	}

	if _, err := fmt.Fprintf(pidFile, "%d\n", rec.PID); err != nil {
		cmd.Process.Kill()
		return fail("write %s: %v", f.PID, err)
	}
	pidFile.Close()
	if err := writeRecord(f.Record, rec); err != nil {
		cmd.Process.Kill()
		return fail("write %s: %v", f.Record, err)
	}

	wait := spec.Wait
	if wait <= 0 {
		wait = 60 * time.Second
	}
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	tick := time.NewTicker(readyEvery)
	defer tick.Stop()
	for {
		select {
		case err := <-exited:
			return fail("the server exited during start-up (%v)", err)
		case <-ctx.Done():
			terminate(cmd.Process, exited)
			return fail("start interrupted (%v)", ctx.Err())
		case <-deadline.C:
			terminate(cmd.Process, exited)
			return fail("the server did not answer within %s; stopped it", wait)
		case <-tick.C:
			rctx, cancel := context.WithTimeout(ctx, time.Second)
			err := spec.Ready(rctx)
			cancel()
			if err != nil {
				continue
			}
			select { // ready, but was it this server that answered?
			case err := <-exited:
				return fail("the server exited during start-up (%v)", err)
			default:
			}
			cmd.Process.Release()
			return rec, nil
		}
	}
}

// Stop sends SIGTERM to the running server and waits up to wait for it
// to exit; with force it then sends SIGKILL. It removes the pid file and
// the record once the server is gone, or when they are stale. It returns
// ErrNotRunning when no server is running.
func Stop(ctx context.Context, f Files, match func([]string) bool, wait time.Duration, force bool) (Record, error) {
	rec, stale, err := Find(f, match)
	if err != nil {
		if stale {
			os.Remove(f.PID)
			os.Remove(f.Record)
		}
		return rec, err
	}
	p, err := os.FindProcess(rec.PID)
	if err != nil {
		return rec, err
	}
	if err := interrupt(p); err != nil {
		return rec, fmt.Errorf("signal pid %d: %w", rec.PID, err)
	}
	if !waitGone(ctx, rec.PID, match, wait) {
		if !force {
			return rec, fmt.Errorf("pid %d is still running %s after SIGTERM (streams may still be draining); run stop --force to kill it", rec.PID, wait)
		}
		if err := p.Kill(); err != nil {
			return rec, fmt.Errorf("kill pid %d: %w", rec.PID, err)
		}
		if !waitGone(ctx, rec.PID, match, 5*time.Second) {
			return rec, fmt.Errorf("pid %d survived SIGKILL", rec.PID)
		}
	}
	os.Remove(f.PID)
	os.Remove(f.Record)
	return rec, nil
}

// claim creates the pid file, exclusively, so that two starts cannot
// both win; a stale one is removed first.
func claim(f Files, match func([]string) bool) (*os.File, error) {
	for range 2 {
		file, err := os.OpenFile(f.PID, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err == nil {
			return file, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, err
		}
		rec, stale, err := Find(f, match)
		if err == nil {
			return nil, &RunningError{PID: rec.PID}
		}
		if !stale {
			continue // gone between the two looks: try again
		}
		if err := os.Remove(f.PID); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("remove the stale pid file: %w", err)
		}
	}
	return nil, fmt.Errorf("%s: another start is racing this one", f.PID)
}

func readPID(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("%s: not a pid", path)
	}
	return pid, nil
}

func writeRecord(path string, r Record) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// waitGone polls until pid is no longer our server, for up to d.
func waitGone(ctx context.Context, pid int, match func([]string) bool, d time.Duration) bool {
	end := time.Now().Add(d)
	for alive(pid, match) {
		if time.Now().After(end) || ctx.Err() != nil {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}

// terminate stops a child that failed to start: SIGTERM, then SIGKILL.
func terminate(p *os.Process, exited <-chan error) {
	interrupt(p)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		p.Kill()
		<-exited
	}
}

// tailLines is how much of the log a failed start shows.
const tailLines = 20

// tail is the last lines the log got from offset on, as a message suffix.
func tail(path string, offset int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return ""
	}
	b, _ := io.ReadAll(io.LimitReader(f, 1<<20))
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > tailLines {
		lines = lines[len(lines)-tailLines:]
	}
	if len(b) == 0 {
		return "; the log " + path + " is empty"
	}
	return "; the end of " + path + ":\n" + string(bytes.Join(lines, []byte("\n")))
}

func itoa(i int) string { return strconv.Itoa(i) }
