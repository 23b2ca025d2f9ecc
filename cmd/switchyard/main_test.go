package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchyard-router/switchyard/config"
	"github.com/switchyard-router/switchyard/embed/kernel"
	"github.com/switchyard-router/switchyard/embed/modeltest"
	"github.com/switchyard-router/switchyard/gateway"
	"github.com/switchyard-router/switchyard/providers"
)

type result struct {
	code           int
	stdout, stderr string
}

// runCmd runs switchyard in-process with only the given environment.
func runCmd(t *testing.T, vars map[string]string, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	getenv := func(k string) string { return vars[k] }
	code := run(t.Context(), args, env{
		getenv:  getenv,
		environ: func() []string { return nil },
		stdin:   strings.NewReader(stdin),
		stdout:  &out,
		stderr:  &errb,
	})
	return result{code, out.String(), errb.String()}
}

// modelsRootOf returns a models root whose all-MiniLM-L6-v2 entry links to
// the installed model, so tests can point --models at it.
func modelsRootOf(t testing.TB) string {
	t.Helper()
	root := t.TempDir()
	if err := os.Symlink(modeltest.Dir(t), filepath.Join(root, "all-MiniLM-L6-v2")); err != nil {
		t.Fatal(err)
	}
	return root
}

func TestMissingModelNamesTheCommandToRun(t *testing.T) {
	empty := t.TempDir()
	for _, args := range [][]string{
		{"embed", "--models", empty, "hello"},
		{"model", "verify", "--models", empty},
	} {
		r := runCmd(t, nil, "", args...)
		if r.code == 0 {
			t.Fatalf("%v: exit 0, want failure", args)
		}
		if !strings.Contains(r.stderr, "not installed") || !strings.Contains(r.stderr, `"switchyard model pull"`) {
			t.Fatalf("%v: stderr %q does not say how to install the model", args, r.stderr)
		}
	}
}

func TestEmbedJSONAndFileAgree(t *testing.T) {
	root := modelsRootOf(t)
	texts := []string{"fix this stack trace", "", "écris un poème sur la mer"}
	r := runCmd(t, nil, "", append([]string{"embed", "--json", "--models", root}, texts...)...)
	if r.code != 0 {
		t.Fatalf("embed --json: exit %d: %s", r.code, r.stderr)
	}
	fromArgs := parseVectors(t, r.stdout)
	if len(fromArgs) != len(texts) {
		t.Fatalf("embed --json printed %d vectors for %d texts", len(fromArgs), len(texts))
	}
	// The same texts through --file on stdin, with a CRLF line ending.
	r = runCmd(t, nil, strings.Join(texts, "\r\n")+"\n", "embed", "--file", "-", "--models", root)
	if r.code != 0 {
		t.Fatalf("embed --file: exit %d: %s", r.code, r.stderr)
	}
	fromFile := parseVectors(t, r.stdout)
	if len(fromFile) != len(texts) {
		t.Fatalf("embed --file printed %d vectors for %d lines", len(fromFile), len(texts))
	}
	for i := range texts {
		if len(fromFile[i]) != 384 {
			t.Fatalf("vector %d has %d dims, want 384", i, len(fromFile[i]))
		}
		if c := cosine(fromArgs[i], fromFile[i]); c < 0.99999 {
			t.Errorf("text %d: --json and --file vectors differ (cosine %.6f)", i, c)
		}
		if n := math.Sqrt(cosine(fromFile[i], fromFile[i])); math.Abs(n-1) > 1e-5 {
			t.Errorf("vector %d has norm %.6f, want 1", i, n)
		}
	}
	// Different texts must give different vectors.
	if c := cosine(fromFile[0], fromFile[2]); c > 0.9 {
		t.Errorf("unrelated texts have cosine %.3f", c)
	}
}

func TestEmbedHumanOutput(t *testing.T) {
	root := modelsRootOf(t)
	r := runCmd(t, nil, "", "embed", "--models", root, "--simd", "generic", "hello world")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, `"hello world"`) || !strings.Contains(r.stdout, "4 tokens, 384 dims, norm 1.0000") {
		t.Fatalf("unexpected output:\n%s", r.stdout)
	}
}

// TestEmbedPrecision: --precision int8 and SWITCHYARD_PRECISION=int8 both
// select the int8 layers, whose vectors are close to fp32's but not equal
// to them; the flag wins over the variable; with neither, the precision
// is auto's for this CPU.
func TestEmbedPrecision(t *testing.T) {
	root := modelsRootOf(t)
	text := "how do I reverse a linked list in place"
	embedOne := func(vars map[string]string, args ...string) []float64 {
		t.Helper()
		r := runCmd(t, vars, "", append([]string{"embed", "--json", "--models", root}, append(args, text)...)...)
		if r.code != 0 {
			t.Fatalf("embed %v: exit %d: %s", args, r.code, r.stderr)
		}
		return parseVectors(t, r.stdout)[0]
	}
	fp32 := embedOne(nil, "--precision", "fp32")
	auto := embedOne(nil)
	flag := embedOne(nil, "--precision", "int8")
	envVar := embedOne(map[string]string{"SWITCHYARD_PRECISION": "int8"})
	flagWins := embedOne(map[string]string{"SWITCHYARD_PRECISION": "int8"}, "--precision", "fp32")
	if c := cosine(flag, fp32); c < 0.98 || c > 0.99999 {
		t.Errorf("cosine(int8, fp32) = %.6f, want close to 1 but not equal", c)
	}
	if c := cosine(flag, envVar); c < 0.9999999 {
		t.Errorf("--precision int8 and SWITCHYARD_PRECISION=int8 differ: cosine %.7f", c)
	}
	if c := cosine(flagWins, fp32); c < 0.9999999 {
		t.Errorf("--precision fp32 did not win over SWITCHYARD_PRECISION=int8: cosine with fp32 %.7f", c)
	}
	want := fp32
	if kernel.AutoPrecision(kernel.Best()) == kernel.Int8 {
		want = flag
	}
	if c := cosine(auto, want); c < 0.9999999 {
		t.Errorf("no --precision: cosine %.7f with %s's vector", c, kernel.AutoPrecision(kernel.Best()))
	}
}

func TestEmbedRejectsBadArguments(t *testing.T) {
	for _, tt := range []struct {
		args []string
		vars map[string]string
		want string
	}{
		{[]string{"embed"}, nil, "nothing to embed"},
		{[]string{"embed", "--file", "x", "text"}, nil, "not both"},
		{[]string{"embed", "--simd", "sse9", "x"}, nil, "unknown simd level"},
		{[]string{"embed", "--precision", "int4", "x"}, nil, "unknown precision"},
		{[]string{"embed", "x"}, map[string]string{"SWITCHYARD_THREADS": "many", "SWITCHYARD_MODELS": t.TempDir()}, "SWITCHYARD_THREADS"},
	} {
		r := runCmd(t, tt.vars, "", tt.args...)
		if r.code == 0 || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want failure mentioning %q", tt.args, r.code, r.stderr, tt.want)
		}
	}
}

func TestCorruptFileIsRefusedWithBothHashes(t *testing.T) {
	src := modeltest.Dir(t)
	root := t.TempDir()
	dir := filepath.Join(root, "all-MiniLM-L6-v2")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"model.safetensors", "tokenizer.json"} {
		if err := os.Symlink(filepath.Join(src, f), filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := os.ReadFile(filepath.Join(src, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	// Same size, one byte different: only the hash can tell.
	cfg = bytes.Replace(cfg, []byte(`"num_hidden_layers": 6`), []byte(`"num_hidden_layers": 5`), 1)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	r := runCmd(t, nil, "", "embed", "--models", root, "hello")
	want := "config.json: sha256 mismatch: expected 953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41, got "
	if r.code == 0 || !strings.Contains(r.stderr, want) {
		t.Fatalf("exit %d, stderr %q; want it to contain %q", r.code, r.stderr, want)
	}
}

func TestModelPullFromDirectoryThenVerifyAndList(t *testing.T) {
	root := t.TempDir()
	r := runCmd(t, nil, "", "model", "pull", "--from", modeltest.Dir(t), "--models", root)
	if r.code != 0 {
		t.Fatalf("pull: exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "installed all-MiniLM-L6-v2") {
		t.Fatalf("pull stdout %q", r.stdout)
	}
	r = runCmd(t, map[string]string{"SWITCHYARD_MODELS": root}, "", "model", "verify")
	if r.code != 0 || !strings.Contains(r.stdout, "model.safetensors") || !strings.Contains(r.stdout, ": ok") {
		t.Fatalf("verify: exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
	}
	r = runCmd(t, nil, "", "model", "list", "--models", root)
	if r.code != 0 || !strings.Contains(r.stdout, "all-MiniLM-L6-v2") || !strings.Contains(r.stdout, " ok ") {
		t.Fatalf("list: exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
	}
}

func TestUnknownCommandFails(t *testing.T) {
	r := runCmd(t, nil, "", "frobnicate")
	if r.code == 0 || !strings.Contains(r.stderr, "unknown command") {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
}

func parseVectors(t *testing.T, s string) [][]float64 {
	t.Helper()
	var out [][]float64
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		var v []float64
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("line %q is not a JSON vector: %v", line, err)
		}
		out = append(out, v)
	}
	return out
}

func cosine(a, b []float64) float64 {
	var d float64
	for i := range a {
		d += a[i] * b[i]
	}
	return d
}

func TestPullFromUnreachableHubSuggestsTheOfflineRoute(t *testing.T) {
	// A hub address nothing listens on: the pull fails fast and says what
	// to do instead.
	vars := map[string]string{"HF_ENDPOINT": "http://127.0.0.1:1"}
	r := runCmd(t, vars, "", "model", "pull", "--models", t.TempDir())
	if r.code == 0 || !strings.Contains(r.stderr, "bash scripts/fetch-model.sh") || !strings.Contains(r.stderr, "--from PATH") {
		t.Fatalf("exit %d, stderr %q; want a failure that suggests the offline route", r.code, r.stderr)
	}
}

// testRuntime builds cfg's serving runtime with the real model, as serve
// does, and tears it down when t ends.
func testRuntime(t *testing.T, cfg *config.Config) *gateway.Runtime {
	t.Helper()
	rt, err := gateway.Build(t.Context(), cfg, gateway.Env{}, modelsRootOf(t), providers.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	return rt
}
