package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchyard-router/switchyard/providers/providertest"
)

// evalJudgeReport is the part of eval --json that --judge adds to.
type evalJudgeReport struct {
	N        int     `json:"n"`
	Accuracy float64 `json:"accuracy"`
	Latency  struct {
		N int `json:"n"`
	} `json:"latency_ms"`
	Judge *struct {
		Calls         int     `json:"calls"`
		Share         float64 `json:"share"`
		Used          int     `json:"used"`
		Cached        int     `json:"cached"`
		Errors        int     `json:"errors"`
		P50MS         float64 `json:"p50_ms"`
		DecisionP50MS float64 `json:"decision_p50_ms"`
		Timed         int     `json:"timed_judged"`
	} `json:"judge"`
	Misrouted []struct {
		Text      string `json:"text"`
		DecidedBy string `json:"decided_by"`
	} `json:"misrouted"`
}

func evalJSON(t *testing.T, args ...string) evalJudgeReport {
	t.Helper()
	r := runCmd(t, nil, "", append(args, "--json")...)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var rep evalJudgeReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, r.stdout)
	}
	return rep
}

// A judge that answers "creative" to everything, asked about every
// decision (a judge margin wider than any lead), routes the whole corpus
// to creative: the counts say every decision reached it, and every row
// not labelled creative is now wrong, decided by the judge.
func TestEvalJudgeChangesDecisions(t *testing.T) {
	up := providertest.OpenAI(t, providertest.Script{ToolCall: &providertest.ToolCall{Name: "choose_route", Arguments: `{"route":"creative"}`}})
	cfg, data := writeEvalFiles(t)
	withJudge := filepath.Join(filepath.Dir(cfg), "judge.yaml")
	conf := strings.Replace(evalConfig, "providers:\n", "providers:\n  - {name: sim, kind: openai, base_url: \""+up.URL+"/v1\"}\n", 1) +
		"judge: {provider: sim, model: sim, when: {below_threshold: true, margin: 1.5}, timeout: 5s}\n"
	if err := os.WriteFile(withJudge, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	models, cache := modelsRootOf(t), t.TempDir()
	common := []string{"--data", data, "--models", models, "--cache", cache, "--latency-sample", "3"}

	base := evalJSON(t, append([]string{"eval", "--config", cfg}, common...)...)
	if base.Judge != nil {
		t.Errorf("eval without --judge reports a judge: %+v", base.Judge)
	}
	// The judge section alone changes nothing: eval calls no upstream
	// unless asked.
	if rep := evalJSON(t, append([]string{"eval", "--config", withJudge}, common...)...); rep.Judge != nil || up.Requests() != 0 {
		t.Fatalf("eval without --judge called the judge (%d requests)", up.Requests())
	}

	rep := evalJSON(t, append([]string{"eval", "--config", withJudge, "--judge"}, common...)...)
	j := rep.Judge
	if j == nil {
		t.Fatal("eval --judge reports no judge")
	}
	if j.Calls != 7 || j.Share != 1 || j.Used != 7 || j.Errors != 0 || j.Cached != 0 {
		t.Errorf("judge counts %+v, want 7 calls (share 1), 7 used, no errors, none cached", *j)
	}
	if j.Timed != 3 || rep.Latency.N != 3 {
		t.Errorf("%d of %d timed decisions reached the judge, want 3 of 3", j.Timed, rep.Latency.N)
	}
	if got := up.Requests(); got != 7+3+1 { // scored, timed, and the warm-up decision
		t.Errorf("the judge got %d requests, want 11 (its cache is off)", got)
	}
	if j.P50MS <= 0 || j.DecisionP50MS < j.P50MS {
		t.Errorf("judge p50 %.3f ms, decision p50 %.3f ms: want positive, decision ≥ judge", j.P50MS, j.DecisionP50MS)
	}
	if want := 1.0 / 7; rep.Accuracy < want-1e-9 || rep.Accuracy > want+1e-9 || base.Accuracy <= rep.Accuracy {
		t.Errorf("accuracy %.3f without the judge, %.3f with: want the judge's 1/7", base.Accuracy, rep.Accuracy)
	}
	for _, m := range rep.Misrouted {
		if m.DecidedBy != "judge" {
			t.Errorf("%q decided by %s, want judge", m.Text, m.DecidedBy)
		}
	}
	var body struct {
		Tools []struct {
			Function struct{ Name string } `json:"function"`
		} `json:"tools"`
	}
	if err := json.Unmarshal(up.LastBody(), &body); err != nil || len(body.Tools) != 1 || body.Tools[0].Function.Name != "choose_route" {
		t.Errorf("judge request %s: want the choose_route tool", up.LastBody())
	}
}

func TestEvalJudgeNeedsAJudge(t *testing.T) {
	cfg, data := writeEvalFiles(t)
	r := runCmd(t, nil, "", "eval", "--config", cfg, "--data", data, "--models", modelsRootOf(t), "--cache", "off", "--judge")
	if r.code == 0 || !strings.Contains(r.stderr, "the config has no judge") {
		t.Errorf("exit %d, stderr %q: want the missing judge named", r.code, r.stderr)
	}
	r = runCmd(t, nil, "", "eval", "--config", cfg, "--data", data, "--models", modelsRootOf(t), "--cache", "off", "--judge-url", "http://127.0.0.1:1/v1")
	if r.code == 0 || !strings.Contains(r.stderr, "need --judge") {
		t.Errorf("exit %d, stderr %q: want --judge-url refused without --judge", r.code, r.stderr)
	}
}

// --judge-url and --judge-url-model point eval at a server the config does
// not name; the config's judge rules (here the defaults) apply.
func TestEvalJudgeURL(t *testing.T) {
	up := providertest.OpenAI(t, providertest.Script{Text: `{"route": "none"}`})
	cfg, data := writeEvalFiles(t)
	rep := evalJSON(t, "eval", "--config", cfg, "--data", data, "--models", modelsRootOf(t), "--cache", t.TempDir(),
		"--latency-sample", "0", "--judge", "--judge-url", up.URL+"/v1", "--judge-url-model", "m")
	if rep.Judge == nil || rep.Judge.Calls == 0 || rep.Judge.Calls != up.Requests() || rep.Judge.Used != rep.Judge.Calls {
		t.Fatalf("judge %+v, %d requests: want every call made and used", rep.Judge, up.Requests())
	}
}
