package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/switchyard-router/switchyard/config"
)

// Regression guard on the team's corpus (testdata/eval/corpus.jsonl, 338
// prompts for the example config) with the real model. The floors are the
// levels reached when the guard was written, less a small allowance for
// float noise; a change that lowers routing quality fails here.
//
// Recorded 2026-11-21 (all-MiniLM-L6-v2, example config as shipped). The
// example's examples were written without copying the corpus, but its
// thresholds were chosen by looking at this corpus, so the first figure
// is in-sample; the held-out one after fit is the honest estimate.
//
//	eval, whole corpus:                         macro-F1 0.674, accuracy 0.675
//	fit --seed 1, held-out 30% before → after:  macro-F1 0.608 → 0.713
const (
	floorShippedMacroF1 = 0.66
	floorFittedMacroF1  = 0.70
)

func TestCorpusRegressionGuard(t *testing.T) {
	corpus := filepath.Join("..", "..", "testdata", "eval", "corpus.jsonl")
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfg, config.Example(), 0o644); err != nil {
		t.Fatal(err)
	}
	models, cache := modelsRootOf(t), t.TempDir()

	r := runCmd(t, nil, "", "eval", "--config", cfg, "--data", corpus, "--models", models, "--cache", cache, "--latency-sample", "20", "--json")
	if r.code != 0 {
		t.Fatalf("eval: exit %d: %s", r.code, r.stderr)
	}
	var rep struct {
		N       int     `json:"n"`
		MacroF1 float64 `json:"macro_f1"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("eval --json: %v", err)
	}
	if rep.N < 300 {
		t.Fatalf("corpus has %d examples, want ≥ 300", rep.N)
	}
	t.Logf("example config on the corpus: macro-F1 %.3f", rep.MacroF1)
	if rep.MacroF1 < floorShippedMacroF1 {
		t.Errorf("macro-F1 %.3f fell below the recorded floor %.2f", rep.MacroF1, floorShippedMacroF1)
	}

	r = runCmd(t, nil, "", "fit", "--config", cfg, "--data", corpus, "--models", models, "--cache", cache, "--seed", "1")
	if r.code != 0 {
		t.Fatalf("fit: exit %d: %s", r.code, r.stderr)
	}
	m := regexp.MustCompile(`validation after\s+([0-9.]+)\s+([0-9.]+)`).FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("fit output has no held-out result:\n%s", r.stdout)
	}
	fitted, _ := strconv.ParseFloat(m[2], 64)
	t.Logf("fit, held-out macro-F1 after: %.3f", fitted)
	if fitted < floorFittedMacroF1 {
		t.Errorf("held-out macro-F1 after fit %.3f fell below the recorded floor %.2f", fitted, floorFittedMacroF1)
	}
}
