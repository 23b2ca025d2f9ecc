//go:build unix

package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/switchyard-router/switchyard/providers/providertest"
)

// TestMain lets the test binary be switchyard itself: with
// SWITCHYARD_TEST_AS_MAIN=1 it runs main, so that start, which starts
// the binary it is, can be tested without a separate build. Where
// scripts/test.sh has built the real binary (SWITCHYARD_BIN), that is
// used instead.
func TestMain(m *testing.M) {
	if os.Getenv("SWITCHYARD_TEST_AS_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// processEnv is an empty HOME's environment for a switchyard process.
type processEnv struct {
	bin  string
	home string
	vars []string
}

func newProcessEnv(t *testing.T) *processEnv {
	t.Helper()
	p := &processEnv{home: t.TempDir()}
	if bin := os.Getenv("SWITCHYARD_BIN"); bin != "" {
		p.bin = bin
	} else {
		exe, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		p.bin = exe
		p.vars = append(p.vars, "SWITCHYARD_TEST_AS_MAIN=1")
	}
	p.vars = append(p.vars, "HOME="+p.home, "PATH="+os.Getenv("PATH"))
	t.Cleanup(func() { p.run("stop", "--force", "--wait", "5s") })
	return p
}

// run runs switchyard with args in the process's environment.
func (p *processEnv) run(args ...string) result {
	cmd := exec.Command(p.bin, args...)
	cmd.Env = p.vars
	cmd.Dir = p.home
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		code = -1
		errb.WriteString(err.Error())
	}
	return result{code, out.String(), errb.String()}
}

func (p *processEnv) write(t *testing.T, rel, body string) string {
	t.Helper()
	path := filepath.Join(p.home, rel)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
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

// explicitConfig serves model m from up, with no route that needs the
// embedding model, so that it starts at once.
func explicitConfig(addr, upURL string) string {
	return fmt.Sprintf("listen: %s\nproviders:\n  - {name: up, kind: openai, base_url: %s, models: [m]}\n", addr, upURL)
}

func pidOf(t *testing.T, stdout string) int {
	t.Helper()
	i := strings.Index(stdout, "(pid ")
	if i < 0 {
		t.Fatalf("no pid in %q", stdout)
	}
	pid, err := strconv.Atoi(strings.TrimSuffix(strings.Fields(stdout[i+5:])[0], ")"))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

func TestStartStatusStop(t *testing.T) {
	up := providertest.OpenAI(t)
	p := newProcessEnv(t)
	addr := freeAddr(t)
	p.write(t, ".config/switchyard/config.yaml", explicitConfig(addr, up.URL))
	state := filepath.Join(p.home, ".local/state/switchyard")

	r := p.run("start")
	if r.code != 0 || !strings.Contains(r.stdout, "switchyard started: http://"+addr) {
		t.Fatalf("start: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	pid := pidOf(t, r.stdout)
	if b, _ := os.ReadFile(filepath.Join(state, "switchyard.pid")); strings.TrimSpace(string(b)) != strconv.Itoa(pid) {
		t.Errorf("pid file %q, want %d", b, pid)
	}
	if code, body := chatModel(t, addr, "m"); code != 200 {
		t.Errorf("chat through the background server: %d %s", code, body)
	}

	if r := p.run("start"); r.code == 0 || !strings.Contains(r.stderr, fmt.Sprintf("already running (pid %d", pid)) {
		t.Errorf("second start: exit %d, stderr %q; want a refusal naming pid %d", r.code, r.stderr, pid)
	}

	for _, args := range [][]string{{"status"}, {"server", "info"}} {
		r := p.run(args...)
		for _, want := range []string{fmt.Sprintf("running, pid %d, up ", pid), "http://" + addr + " (healthz: ok)", filepath.Join(state, "switchyard.log")} {
			if r.code != 0 || !strings.Contains(r.stdout, want) {
				t.Errorf("%s: exit %d, stdout lacks %q:\n%s%s", args, r.code, want, r.stdout, r.stderr)
			}
		}
	}

	if r := p.run("server", "stop"); r.code != 0 || !strings.Contains(r.stdout, fmt.Sprintf("switchyard stopped (pid %d)", pid)) {
		t.Errorf("stop: exit %d %s%s", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(state, "switchyard.pid")); !os.IsNotExist(err) {
		t.Errorf("pid file after stop: %v", err)
	}
	if _, err := net.Dial("tcp", addr); err == nil {
		t.Errorf("%s still answers after stop", addr)
	}
	log, _ := os.ReadFile(filepath.Join(state, "switchyard.log"))
	if !bytes.Contains(log, []byte(`"message":"listening"`)) || !bytes.Contains(log, []byte("shutting down")) {
		t.Errorf("log lacks the server's start and shutdown:\n%s", log)
	}
	if r := p.run("stop"); r.code != 0 || !strings.Contains(r.stdout, "not running") {
		t.Errorf("stop with nothing running: exit %d %q", r.code, r.stdout)
	}
	if r := p.run("status"); r.code != 3 || !strings.Contains(r.stdout, "not running") {
		t.Errorf("status with nothing running: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
}

// TestStartReplacesAStalePIDFile: a pid file whose process is gone, or
// is not a switchyard serving (here this test), does not stop start.
func TestStartReplacesAStalePIDFile(t *testing.T) {
	up := providertest.OpenAI(t)
	p := newProcessEnv(t)
	addr := freeAddr(t)
	p.write(t, ".config/switchyard/config.yaml", explicitConfig(addr, up.URL))
	pidFile := p.write(t, ".local/state/switchyard/switchyard.pid", strconv.Itoa(os.Getpid())+"\n")
	if r := p.run("status"); r.code != 3 || !strings.Contains(r.stdout, "stale pid file") {
		t.Errorf("status with a stale pid file: exit %d %q", r.code, r.stdout)
	}
	r := p.run("restart")
	if r.code != 0 {
		t.Fatalf("start over a stale pid file: exit %d %s%s", r.code, r.stdout, r.stderr)
	}
	if b, _ := os.ReadFile(pidFile); strings.TrimSpace(string(b)) != strconv.Itoa(pidOf(t, r.stdout)) {
		t.Errorf("pid file %q after start, want the new server's", b)
	}
}

func TestStartFailureShowsTheLog(t *testing.T) {
	p := newProcessEnv(t)
	// A provider with no base_url: serve refuses the config at once.
	p.write(t, ".config/switchyard/config.yaml", "listen: "+freeAddr(t)+"\nproviders:\n  - {name: up, kind: openai, models: [m]}\n")
	r := p.run("start")
	if r.code == 0 || !strings.Contains(r.stderr, "base_url") {
		t.Errorf("start of a broken config: exit %d, stderr %q; want the config's problem", r.code, r.stderr)
	}
}

// TestWorkspace: --workspace DIR (or SWITCHYARD_WORKSPACE) keeps the
// config, the usage store, the pid file and the log under DIR.
func TestWorkspace(t *testing.T) {
	up := providertest.OpenAI(t)
	p := newProcessEnv(t)
	ws := filepath.Join(p.home, "ws")
	addr := freeAddr(t)
	p.write(t, "ws/config.yaml", explicitConfig(addr, up.URL))
	r := p.run("start", "--workspace", ws)
	if r.code != 0 {
		t.Fatalf("start: exit %d %s%s", r.code, r.stdout, r.stderr)
	}
	if code, _ := chatModel(t, addr, "m"); code != 200 {
		t.Errorf("chat: %d", code)
	}
	for _, f := range []string{"switchyard.pid", "switchyard.json", "logs/switchyard.log", "data/usage.db"} {
		if _, err := os.Stat(filepath.Join(ws, f)); err != nil {
			t.Errorf("workspace file: %v", err)
		}
	}
	if _, err := os.Stat(filepath.Join(p.home, ".local")); !os.IsNotExist(err) {
		t.Errorf("files written outside the workspace: %v", err)
	}
	p.vars = append(p.vars, "SWITCHYARD_WORKSPACE="+ws)
	if r := p.run("config", "path"); strings.TrimSpace(r.stdout) != filepath.Join(ws, "config.yaml") || !strings.Contains(r.stderr, "workspace") {
		t.Errorf("config path in the workspace: %q %q", r.stdout, r.stderr)
	}
	if r := p.run("stop"); r.code != 0 || !strings.Contains(r.stdout, "stopped") {
		t.Errorf("stop through SWITCHYARD_WORKSPACE: exit %d %q", r.code, r.stdout)
	}
}

// TestMASConfigHome: with ~/.mas/config.json and no switchyard config,
// serve uses the MAS file, says so in its log, and listens on MAS's
// port 8000 unless told otherwise.
func TestMASConfigHome(t *testing.T) {
	up := providertest.OpenAI(t)
	p := newProcessEnv(t)
	mas := p.write(t, ".mas/config.json", fmt.Sprintf(`{"baseURL": %q, "apiKey": "k", "models": [{"model": "m"}]}`, up.URL+"/v1"))

	r := p.run("config", "path")
	if strings.TrimSpace(r.stdout) != mas || !strings.Contains(r.stderr, "~/.mas/config.json") {
		t.Errorf("config path: %q %q, want %s", r.stdout, r.stderr, mas)
	}
	if r := p.run("config", "check"); r.code != 0 || !strings.Contains(r.stdout, "listen: 127.0.0.1:8000") {
		t.Errorf("config check of a MAS file: exit %d, want listen 127.0.0.1:8000:\n%s%s", r.code, r.stdout, r.stderr)
	}

	addr := freeAddr(t)
	p.vars = append(p.vars, "SWITCHYARD_LISTEN="+addr) // 8000 may be taken on a test machine
	if r := p.run("start"); r.code != 0 {
		t.Fatalf("start: exit %d %s%s", r.code, r.stdout, r.stderr)
	}
	if code, body := chatModel(t, addr, "m"); code != 200 {
		t.Errorf("chat through the MAS config: %d %s", code, body)
	}
	log, _ := os.ReadFile(filepath.Join(p.home, ".local/state/switchyard/switchyard.log"))
	if !bytes.Contains(log, []byte(`"chosen_by":"~/.mas/config.json"`)) {
		t.Errorf("the log does not say the MAS file was used:\n%s", log)
	}
	if _, err := os.Stat(filepath.Join(p.home, ".config/switchyard/config.yaml")); !os.IsNotExist(err) {
		t.Errorf("an example config was written beside the MAS file: %v", err)
	}
}

func TestMASConfigPathVariable(t *testing.T) {
	dir := t.TempDir()
	mas := filepath.Join(dir, "mas.json")
	if err := os.WriteFile(mas, []byte(`{"baseURL": "http://127.0.0.1:9/v1", "models": [{"model": "m"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"HOME": dir, "MAS_CONFIG_PATH": mas}
	if r := runCmd(t, vars, "", "config", "path"); strings.TrimSpace(r.stdout) != mas || !strings.Contains(r.stderr, "$MAS_CONFIG_PATH") {
		t.Errorf("config path: %q %q", r.stdout, r.stderr)
	}
	vars["SWITCHYARD_CONFIG"] = filepath.Join(dir, "sy.yaml")
	if r := runCmd(t, vars, "", "config", "path"); strings.TrimSpace(r.stdout) != vars["SWITCHYARD_CONFIG"] {
		t.Errorf("SWITCHYARD_CONFIG must win over MAS_CONFIG_PATH: %q", r.stdout)
	}
	missing := map[string]string{"HOME": dir, "MAS_CONFIG_PATH": filepath.Join(dir, "none.json")}
	if r := runCmd(t, missing, "", "serve"); r.code == 0 || !strings.Contains(r.stderr, "MAS_CONFIG_PATH names") {
		t.Errorf("serve with MAS_CONFIG_PATH naming no file: exit %d %q", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "none.json")); !os.IsNotExist(err) {
		t.Errorf("serve wrote a file at MAS_CONFIG_PATH: %v", err)
	}
}

func TestConfigEdit(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	// The "editor" appends a bad key; edit must report it.
	editor := filepath.Join(dir, "ed.sh")
	if err := os.WriteFile(editor, []byte("#!/bin/sh\nprintf 'no_such_key: 1\\n' >> \"$1\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"HOME": dir, "SWITCHYARD_CONFIG": cfg, "EDITOR": editor}
	r := runCmd(t, vars, "", "config", "edit")
	if r.code == 0 || !strings.Contains(r.stderr, "no_such_key") {
		t.Errorf("edit adding a bad key: exit %d %q", r.code, r.stderr)
	}
	if b, _ := os.ReadFile(cfg); !bytes.Contains(b, []byte("no_such_key")) {
		t.Error("the editor did not get the config file")
	}
	delete(vars, "EDITOR")
	if r := runCmd(t, vars, "", "config", "edit"); r.code != 0 || strings.TrimSpace(r.stdout) != cfg {
		t.Errorf("edit with no editor: exit %d %q, want the path", r.code, r.stdout)
	}
}
