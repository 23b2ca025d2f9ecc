package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchyard-router/switchyard/config"
)

func TestVersionFlag(t *testing.T) {
	flag := runCmd(t, nil, "", "--version")
	cmd := runCmd(t, nil, "", "version")
	if flag.code != 0 || cmd.code != 0 {
		t.Fatalf("exit %d / %d: %s%s", flag.code, cmd.code, flag.stderr, cmd.stderr)
	}
	if !strings.HasPrefix(flag.stdout, "switchyard ") || flag.stdout != cmd.stdout {
		t.Errorf("--version printed %q, version %q", flag.stdout, cmd.stdout)
	}
}

// "route -" routes the text on standard input, as "route TEXT" does.
func TestRouteReadsStdin(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, config.Example(), 0o644); err != nil {
		t.Fatal(err)
	}
	models := modelsRootOf(t)
	const text = "translate this paragraph into Spanish please"
	decide := func(stdin string, args ...string) decisionOut {
		t.Helper()
		r := runCmd(t, nil, stdin, append([]string{"route", "--config", path, "--models", models, "--json"}, args...)...)
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		var d decisionOut
		if err := json.Unmarshal([]byte(r.stdout), &d); err != nil {
			t.Fatal(err)
		}
		return d
	}
	piped, arg := decide(text+"\n", "-"), decide("", text)
	if piped.Text != text || piped.Route != arg.Route || piped.Score != arg.Score || piped.Route != "translation" {
		t.Errorf("route - gave %q %s %.3f (text %q); route TEXT %s %.3f", piped.Route, piped.DecidedBy, piped.Score, piped.Text, arg.Route, arg.Score)
	}
	if r := runCmd(t, nil, "  \n", "route", "--config", path, "--models", models, "-"); r.code == 0 || !strings.Contains(r.stderr, "no text on stdin") {
		t.Errorf("empty stdin: exit %d, %s", r.code, r.stderr)
	}
}
