package abuse

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// buildSwitchyard builds ./cmd/switchyard from the module root into a
// directory removed when t ends.
func buildSwitchyard(t *testing.T) string {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "switchyard")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/switchyard")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/switchyard in %s: %v\n%s", root, err, out)
	}
	return bin
}

// moduleRoot is the directory of the go.mod this package belongs to.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if gomod := strings.TrimSpace(string(out)); err == nil && gomod != "" && gomod != os.DevNull {
		return filepath.Dir(gomod), nil
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		return "", fmt.Errorf("cannot find the module root (go env GOMOD gave nothing, and %s has no go.mod)", root)
	}
	return root, nil
}

// setup is one switchyard process's configuration.
type setup struct {
	// providers is the YAML list under "providers:", one "  - {...}" item
	// per line.
	providers string
	// aliases is the YAML map under "aliases:"; empty for none.
	aliases string
	// server holds server.* keys and their YAML values; shutdown_grace
	// defaults to 1s so that a case ends fast, and min_heap_bytes to 0:
	// the RSS bounds are about what hostile peers make switchyard hold,
	// and the heap floor's default would add up to 24 MiB of garbage the
	// collector has not yet come for (docs/operations.md).
	server map[string]string
	// maxRetries is routing.max_retries. The suite's default is 0, so a
	// bound such as "first_byte_timeout + slack" is about one attempt;
	// the cases that are about retries set it.
	maxRetries int
	// env is added to the process's environment (secrets named by
	// api_key_env and headers_env).
	env []string
	// admin turns the /admin endpoints on, with a random token.
	admin bool
}

// adminTokenEnv names the variable holding the admin token.
const adminTokenEnv = "SY_ABUSE_ADMIN_TOKEN"

func (s setup) yaml(listen string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "listen: %s\n", listen)
	b.WriteString("log: {level: info, format: json}\n")
	fmt.Fprintf(&b, "routing: {max_retries: %d}\n", s.maxRetries)
	srv := map[string]string{"shutdown_grace": "1s", "min_heap_bytes": "0"}
	for k, v := range s.server {
		srv[k] = v
	}
	b.WriteString("server:\n")
	for k, v := range srv {
		fmt.Fprintf(&b, "  %s: %s\n", k, v)
	}
	b.WriteString("providers:\n")
	b.WriteString(s.providers)
	if !strings.HasSuffix(s.providers, "\n") {
		b.WriteString("\n")
	}
	if s.aliases != "" {
		b.WriteString("aliases:\n")
		b.WriteString(s.aliases)
		b.WriteString("\n")
	}
	if s.admin {
		fmt.Fprintf(&b, "admin: {token_env: %s}\n", adminTokenEnv)
	}
	return b.String()
}

// server is a running switchyard process.
type server struct {
	pid    int
	base   string // http://127.0.0.1:PORT
	addr   string // 127.0.0.1:PORT
	token  string // admin token, when setup.admin
	log    *logBuffer
	exited chan struct{}
	hc     *http.Client
}

// startServer writes the config, starts `switchyard serve` and waits
// for GET /health. The process is stopped (SIGTERM, then SIGKILL) when t
// ends.
func startServer(t *testing.T, bin string, s setup) *server {
	t.Helper()
	dir := t.TempDir()
	addr := freeAddr(t)
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte(s.yaml(addr)), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := &server{base: "http://" + addr, addr: addr, log: &logBuffer{}, exited: make(chan struct{}),
		// No keep-alive: an idle connection of the suite's own would
		// count among the connections the server holds (clientConns).
		hc: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}}
	env := childEnv()
	// The usage store goes to the case's own directory, not the user's.
	env = append(env, "XDG_DATA_HOME="+t.TempDir())
	env = append(env, s.env...)
	if s.admin {
		srv.token = fmt.Sprintf("abuse-admin-%d", time.Now().UnixNano())
		env = append(env, adminTokenEnv+"="+srv.token)
	}
	cmd := exec.Command(bin, "serve", "--config", cfg)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = srv.log, srv.log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	srv.pid = cmd.Process.Pid
	go func() {
		cmd.Wait()
		close(srv.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-srv.exited:
			t.Errorf("switchyard exited during the case; its log:\n%s", srv.log.tail(4096))
			return
		default:
		}
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-srv.exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-srv.exited
		}
		if t.Failed() || os.Getenv("SWITCHYARD_ABUSE_LOGS") == "1" {
			t.Logf("switchyard log (last 3 KB):\n%s", srv.log.tail(3072))
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := srv.hc.Get(srv.base + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case <-srv.exited:
			t.Fatalf("switchyard exited before it served; config:\n%s\nlog:\n%s", s.yaml(addr), srv.log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("switchyard did not answer GET /health within 15s; log:\n%s", srv.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return srv
}

// childEnv is this process's environment without SWITCHYARD_ variables:
// they would override the config (SWITCHYARD_ABUSE=1 among them).
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SWITCHYARD_") {
			env = append(env, kv)
		}
	}
	return env
}

// freeAddr returns a loopback address nobody listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// alive fails t if the process has exited.
func (s *server) alive(t *testing.T) {
	t.Helper()
	select {
	case <-s.exited:
		t.Fatalf("switchyard has exited; log:\n%s", s.log.tail(4096))
	default:
	}
}

// logBuffer collects the process's stdout and stderr; safe for
// concurrent use.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuffer) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Len()
}

// since returns what was logged after offset.
func (l *logBuffer) since(offset int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if offset > l.b.Len() {
		return ""
	}
	return string(l.b.Bytes()[offset:])
}

func (l *logBuffer) tail(n int) string {
	s := l.String()
	if len(s) > n {
		s = "…" + s[len(s)-n:]
	}
	return s
}

// procStatus reads VmRSS and VmHWM of pid, in bytes.
func procStatus(pid int) (rss, hwm int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("parse %s %q: %w", k, v, err)
		}
		if k == "VmRSS" {
			rss = kb << 10
		} else {
			hwm = kb << 10
		}
	}
	return rss, hwm, sc.Err()
}

// rss is the process's resident set size now, in bytes (0 if unknown).
func (s *server) rss() int64 {
	r, _, _ := procStatus(s.pid)
	return r
}

// fds counts the process's open file descriptors.
func (s *server) fds() int {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", s.pid))
	if err != nil {
		return -1
	}
	return len(ents)
}

// cpuTime is the CPU time (user + system) the process has used.
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses: state is
	// the first, utime the 12th and stime the 13th (clock ticks, 100/s).
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// meter samples the server's RSS every 50 ms from its start to stop.
type meter struct {
	s        *server
	base     int64 // RSS at the start, bytes
	baseCPU  time.Duration
	cpu      time.Duration // CPU time used between start and stop
	baseFDs  int
	hwmReset bool // VmHWM was reset at the start, so it is the case's peak
	peak     atomic.Int64
	peakFDs  atomic.Int64
	stopped  chan struct{}
	done     chan struct{}
	once     sync.Once
	result   int64
}

// measure starts a meter. It resets the kernel's peak RSS (VmHWM) by
// writing 5 to /proc/PID/clear_refs, so a spike between two samples is
// seen too.
func (s *server) measure() *meter {
	m := &meter{s: s, stopped: make(chan struct{}), done: make(chan struct{})}
	m.base = s.rss()
	m.baseFDs = s.fds()
	m.baseCPU = cpuTime(s.pid)
	m.hwmReset = os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", s.pid), []byte("5"), 0) == nil
	m.peak.Store(m.base)
	m.peakFDs.Store(int64(m.baseFDs))
	go func() {
		defer close(m.done)
		tk := time.NewTicker(50 * time.Millisecond)
		defer tk.Stop()
		for {
			m.sample()
			select {
			case <-m.stopped:
				return
			case <-tk.C:
			}
		}
	}()
	return m
}

func (m *meter) sample() {
	if r := m.s.rss(); r > m.peak.Load() {
		m.peak.Store(r)
	}
	if n := int64(m.s.fds()); n > m.peakFDs.Load() {
		m.peakFDs.Store(n)
	}
}

// stop ends sampling and returns the peak RSS rise over the baseline, in
// bytes. Calling it again returns the same figure.
func (m *meter) stop() int64 {
	m.once.Do(func() {
		close(m.stopped)
		<-m.done
		m.sample()
		peak := m.peak.Load()
		if m.hwmReset {
			if _, hwm, err := procStatus(m.s.pid); err == nil && hwm > peak {
				peak = hwm
			}
		}
		m.result = peak - m.base
		m.cpu = cpuTime(m.s.pid) - m.baseCPU
	})
	return m.result
}

// waitFor polls cond every 50 ms until it holds or d passes; it reports
// whether it held and how long it took.
func waitFor(ctx context.Context, d time.Duration, cond func() bool) (bool, time.Duration) {
	start := time.Now()
	for {
		if cond() {
			return true, time.Since(start)
		}
		if time.Since(start) > d || ctx.Err() != nil {
			return false, time.Since(start)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

const mb = 1 << 20

// mib formats bytes as MiB.
func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/mb) }

// clientConns counts the TCP connections the server holds on its
// listening port (accepted client connections), by matching the socket
// inodes of its open fds against /proc/net/tcp. -1 if unknown.
func (s *server) clientConns() int {
	_, portStr, _ := net.SplitHostPort(s.addr)
	port, _ := strconv.Atoi(portStr)
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", s.pid))
	if err != nil {
		return -1
	}
	inodes := map[string]bool{}
	for _, e := range ents {
		link, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", s.pid, e.Name()))
		if err == nil && strings.HasPrefix(link, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] = true
		}
	}
	n := 0
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(table)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 10 || f[3] == "0A" { // 0A: LISTEN
				continue
			}
			_, lport, ok := strings.Cut(f[1], ":")
			if !ok {
				continue
			}
			p, err := strconv.ParseInt(lport, 16, 32)
			if err == nil && int(p) == port && inodes[f[9]] {
				n++
			}
		}
	}
	return n
}
