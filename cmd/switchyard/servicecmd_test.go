package main

import (
	"bytes"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestServiceSystemd: install writes a systemd user unit that runs this
// binary's serve with the config's absolute path, that systemd-analyze
// accepts, and runs systemctl --user daemon-reload and enable --now;
// uninstall reverses it.
func TestServiceSystemd(t *testing.T) {
	home := t.TempDir()
	cfg := filepath.Join(home, "my config.yaml") // a space, to test the quoting
	if err := os.WriteFile(cfg, []byte("listen: 127.0.0.1:8080\nserver: {shutdown_grace: 5s}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A fake systemctl that records its arguments.
	bin := filepath.Join(home, "bin")
	calls := filepath.Join(home, "calls")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "systemctl"), []byte("#!/bin/sh\necho \"$@\" >> "+calls+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"HOME": home, "PATH": bin}
	r := runCmd(t, vars, "", "service", "install", "--target", "systemd", "--config", cfg)
	if r.code != 0 {
		t.Fatalf("install: exit %d %s%s", r.code, r.stdout, r.stderr)
	}
	unitPath := filepath.Join(home, ".config/systemd/user/switchyard.service")
	unit, err := os.ReadFile(unitPath)
	if err != nil {
		t.Fatal(err)
	}
	exe, _ := os.Executable()
	exe, _ = filepath.EvalSymlinks(exe)
	for _, want := range []string{
		"ExecStart=\"" + exe + "\" \"serve\" \"--config\" \"" + cfg + "\"\n",
		"EnvironmentFile=-" + filepath.Join(home, ".config/switchyard/env") + "\n",
		"Restart=on-failure\n", "TimeoutStopSec=15s\n", "NoNewPrivileges=yes\n", "WantedBy=default.target\n",
	} {
		if !bytes.Contains(unit, []byte(want)) {
			t.Errorf("unit lacks %q:\n%s", want, unit)
		}
	}
	got, _ := os.ReadFile(calls)
	if want := "--user show-environment\n--user daemon-reload\n--user enable --now switchyard.service\n"; string(got) != want {
		t.Errorf("systemctl calls:\n%s\nwant\n%s", got, want)
	}

	if analyze, err := exec.LookPath("systemd-analyze"); err == nil {
		run := t.TempDir()
		os.Chmod(run, 0o700)
		cmd := exec.Command(analyze, "--user", "verify", unitPath)
		cmd.Env = []string{"HOME=" + home, "XDG_RUNTIME_DIR=" + run, "PATH=" + os.Getenv("PATH")}
		out, err := cmd.CombinedOutput()
		if err != nil || len(bytes.TrimSpace(out)) > 0 {
			t.Errorf("systemd-analyze --user verify: %v\n%s", err, out)
		}
	} else {
		t.Log("systemd-analyze not installed: the unit is not verified")
	}

	r = runCmd(t, vars, "", "service", "uninstall", "--target", "systemd")
	if r.code != 0 {
		t.Fatalf("uninstall: exit %d %s", r.code, r.stderr)
	}
	if _, err := os.Stat(unitPath); !os.IsNotExist(err) {
		t.Errorf("unit left after uninstall: %v", err)
	}
	got, _ = os.ReadFile(calls)
	if !strings.HasSuffix(string(got), "--user show-environment\n--user disable --now switchyard.service\n--user show-environment\n--user daemon-reload\n") {
		t.Errorf("systemctl calls after uninstall:\n%s", got)
	}
}

// TestServiceNoManager: without a reachable user manager, install writes
// the file and prints the commands instead of failing.
func TestServiceNoManager(t *testing.T) {
	home := t.TempDir()
	vars := map[string]string{"HOME": home, "PATH": t.TempDir()}
	r := runCmd(t, vars, "", "service", "install", "--target", "systemd")
	if r.code != 0 || !strings.Contains(r.stdout, "systemctl is not on PATH") || !strings.Contains(r.stdout, "systemctl --user enable --now switchyard.service") {
		t.Errorf("install without systemctl: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	// It wrote the first-run config the unit names, as serve would.
	if _, err := os.Stat(filepath.Join(home, ".config/switchyard/config.yaml")); err != nil {
		t.Errorf("no config written: %v", err)
	}
}

// TestServiceLaunchd: the plist parses as XML, runs this binary through
// the env-file wrapper with the config and workspace, and keeps it alive.
func TestServiceLaunchd(t *testing.T) {
	home := t.TempDir()
	ws := filepath.Join(home, "ws & co") // XML-escaped in the file
	vars := map[string]string{"HOME": home, "PATH": t.TempDir()}
	r := runCmd(t, vars, "", "service", "print", "--target", "launchd", "--workspace", ws)
	if r.code != 0 {
		t.Fatalf("print: exit %d %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "ws &amp; co") {
		t.Errorf("workspace path not escaped:\n%s", r.stdout)
	}
	var plist struct {
		XMLName xml.Name `xml:"plist"`
		Dict    struct {
			Inner []byte `xml:",innerxml"`
		} `xml:"dict"`
	}
	if err := xml.Unmarshal([]byte(r.stdout), &plist); err != nil {
		t.Fatalf("plist does not parse: %v\n%s", err, r.stdout)
	}
	entries := plistDict(t, plist.Dict.Inner)
	exe, _ := os.Executable()
	exe, _ = filepath.EvalSymlinks(exe)
	args := entries["ProgramArguments"]
	want := []string{"/bin/sh", "-c", args[2], filepath.Join(ws, "env"), exe, "serve", "--config", filepath.Join(ws, "config.yaml"), "--workspace", ws}
	if !slices.Equal(args, want) {
		t.Errorf("ProgramArguments = %q\nwant %q", args, want)
	}
	if entries["Label"][0] != "dev.switchyard" || entries["RunAtLoad"][0] != "true" || entries["StandardErrorPath"][0] != filepath.Join(ws, "logs", "service.log") {
		t.Errorf("plist entries: %q", entries)
	}
	if _, err := os.Stat(filepath.Join(home, "Library")); !os.IsNotExist(err) {
		t.Errorf("print wrote files: %v", err)
	}
	// The wrapper really loads the env file and runs the program.
	if err := os.MkdirAll(ws, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(ws, "env"), []byte("OPENAI_API_KEY=sk-from-env-file\n"), 0o600)
	out, err := exec.Command(args[0], args[1], args[2], args[3], "/bin/sh", "-c", "echo $OPENAI_API_KEY").Output()
	if err != nil || strings.TrimSpace(string(out)) != "sk-from-env-file" {
		t.Errorf("wrapper: %v %q", err, out)
	}
}

// plistDict reads a plist dict's keys and their string, bool or array
// values, in order.
func plistDict(t *testing.T, inner []byte) map[string][]string {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(inner))
	out := map[string][]string{}
	var key string
	depth := 0
	for {
		tok, err := d.Token()
		if err != nil {
			break
		}
		switch el := tok.(type) {
		case xml.StartElement:
			depth++
			switch el.Name.Local {
			case "key":
				if depth == 1 {
					var k string
					d.DecodeElement(&k, &el)
					depth--
					key = k
				}
			case "string":
				var s string
				d.DecodeElement(&s, &el)
				depth--
				if depth <= 1 {
					out[key] = append(out[key], s)
				}
			case "true", "false":
				if depth == 1 {
					out[key] = append(out[key], el.Name.Local)
				}
			}
		case xml.EndElement:
			depth--
		}
	}
	return out
}
