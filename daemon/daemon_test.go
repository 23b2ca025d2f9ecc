//go:build unix

package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The test binary doubles as the server it starts: with DAEMON_TEST_ROLE
// set it runs a tiny HTTP server instead of the tests.
func TestMain(m *testing.M) {
	switch os.Getenv("DAEMON_TEST_ROLE") {
	case "serve":
		serveForTest(os.Getenv("DAEMON_TEST_ADDR"), os.Getenv("DAEMON_TEST_IGNORE_TERM") == "1")
		return
	case "fail":
		fmt.Fprintln(os.Stderr, "listen: address already in use")
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func serveForTest(addr string, ignoreTerm bool) {
	fmt.Println("serving on", addr)
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	srv := &http.Server{Addr: addr, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})}
	go srv.ListenAndServe()
	for range term {
		if !ignoreTerm {
			srv.Close()
			fmt.Println("stopped")
			return
		}
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// isTest accepts this test binary run as a server ("serve" argument).
func isTest(argv []string) bool {
	return strings.HasSuffix(argv[0], ".test") && len(argv) > 1 && argv[1] == "serve"
}

func spec(t *testing.T, role, addr string, extraEnv ...string) Spec {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return Spec{
		Path:  exe,
		Args:  []string{"serve"},
		Env:   append([]string{"DAEMON_TEST_ROLE=" + role, "DAEMON_TEST_ADDR=" + addr}, extraEnv...),
		Match: isTest,
		Ready: func(ctx context.Context) error {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/", nil)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				return err
			}
			res.Body.Close()
			return nil
		},
		Wait:   20 * time.Second,
		Record: Record{URL: "http://" + addr},
	}
}

func files(t *testing.T) Files {
	d := t.TempDir()
	return Files{PID: filepath.Join(d, "x.pid"), Record: filepath.Join(d, "x.json"), Log: filepath.Join(d, "logs", "x.log")}
}

func TestStartFindStop(t *testing.T) {
	f := files(t)
	addr := freeAddr(t)
	rec, err := Start(t.Context(), f, spec(t, "serve", addr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(rec.PID, syscall.SIGKILL) })
	if b, _ := os.ReadFile(f.PID); string(b) != strconv.Itoa(rec.PID)+"\n" {
		t.Errorf("pid file %q, want %d", b, rec.PID)
	}
	if sid, _ := getsid(rec.PID); sid != rec.PID {
		t.Errorf("session of the server = %d, want its own (%d)", sid, rec.PID)
	}
	got, stale, err := Find(f, isTest)
	if err != nil || stale || got.PID != rec.PID || got.URL != "http://"+addr {
		t.Errorf("Find = %+v, %v, %v", got, stale, err)
	}

	var running *RunningError
	if _, err := Start(t.Context(), f, spec(t, "serve", freeAddr(t))); !errors.As(err, &running) || running.PID != rec.PID {
		t.Errorf("second start: %v, want a RunningError naming pid %d", err, rec.PID)
	}

	if _, err := Stop(t.Context(), f, isTest, 10*time.Second, false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(f.PID); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pid file left after stop: %v", err)
	}
	if log, _ := os.ReadFile(f.Log); !strings.Contains(string(log), "serving on "+addr) || !strings.Contains(string(log), "stopped") {
		t.Errorf("log = %q, want the server's output", log)
	}
	if _, err := Stop(t.Context(), f, isTest, time.Second, false); !errors.Is(err, ErrNotRunning) {
		t.Errorf("stop again: %v, want ErrNotRunning", err)
	}
}

func TestStalePIDFileIsReplaced(t *testing.T) {
	f := files(t)
	// The pid of a process that is not this server: this test itself
	// (its argv has no "serve"), and then one that does not exist.
	for _, pid := range []int{os.Getpid(), 1 << 22} {
		if err := os.WriteFile(f.PID, []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, stale, err := Find(f, isTest); !stale || !errors.Is(err, ErrNotRunning) {
			t.Errorf("pid %d: stale %v, %v; want a stale file", pid, stale, err)
		}
	}
	addr := freeAddr(t)
	rec, err := Start(t.Context(), f, spec(t, "serve", addr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(rec.PID, syscall.SIGKILL) })
	if _, err := Stop(t.Context(), f, isTest, 10*time.Second, false); err != nil {
		t.Fatal(err)
	}
}

func TestStartFailureShowsTheLog(t *testing.T) {
	f := files(t)
	_, err := Start(t.Context(), f, spec(t, "fail", freeAddr(t)))
	if err == nil || !strings.Contains(err.Error(), "exited during start-up") || !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("err = %v, want the exit and the log's tail", err)
	}
	if _, err := os.Stat(f.PID); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pid file left after a failed start: %v", err)
	}
}

func TestStopForce(t *testing.T) {
	f := files(t)
	rec, err := Start(t.Context(), f, spec(t, "serve", freeAddr(t), "DAEMON_TEST_IGNORE_TERM=1"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(rec.PID, syscall.SIGKILL) })
	if _, err := Stop(t.Context(), f, isTest, 300*time.Millisecond, false); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("stop of a server ignoring SIGTERM: %v, want a hint at --force", err)
	}
	if _, err := Stop(t.Context(), f, isTest, 300*time.Millisecond, true); err != nil {
		t.Errorf("stop --force: %v", err)
	}
	if _, _, err := Find(f, isTest); !errors.Is(err, ErrNotRunning) {
		t.Errorf("after stop --force: %v", err)
	}
}
