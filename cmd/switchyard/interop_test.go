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
	python := os.Getenv("SWITCHYARD_INTEROP_PYTHON")
	if python == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("SWITCHYARD_INTEROP_PYTHON is not set; run the tests with bash scripts/test.sh")
		}
		t.Skip("SWITCHYARD_INTEROP_PYTHON not set (bash scripts/test.sh sets it)")
	}
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
