package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestPythonOpenAIClient drives switchyard with the official Python openai
// package (scripts/interop/openai_client.py). scripts/test.sh installs it
// into a venv and names the interpreter in SWITCHYARD_INTEROP_PYTHON; CI
// always does, so there the test cannot be skipped.
func TestPythonOpenAIClient(t *testing.T) {
	python := fromTestScript(t, "SWITCHYARD_INTEROP_PYTHON")
	s := newStack(t)
	script := filepath.Join("..", "..", "scripts", "interop", "openai_client.py")
	out, err := exec.CommandContext(t.Context(), python, script, s.url+"/v1").CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("python client failed: %v", err)
	}
	if !strings.Contains(string(out), "python openai") {
		t.Fatal("python client did not finish")
	}
}

// fromTestScript returns the variable name, which scripts/test.sh sets
// (CI always runs it, so there a missing one fails the test); elsewhere
// the test is skipped without it.
func fromTestScript(t *testing.T, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not set; run the tests with bash scripts/test.sh", name)
		}
		t.Skipf("%s not set (bash scripts/test.sh sets it)", name)
	}
	return v
}
