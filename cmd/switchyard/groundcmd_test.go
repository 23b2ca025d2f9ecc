package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/switchyard-router/switchyard/ground"
)

const conditionsOnly = `
providers: [{name: up, kind: openai, base_url: http://127.0.0.1:9/v1}]
routes:
  - {name: code, condition: "programming, debugging", targets: [{provider: up, model: m1}]}
  - {name: summarise, condition: "summarizing a text", targets: [{provider: up, model: m2}]}
  - {name: legal, condition: "contract law, tenancy disputes", ground: false, targets: [{provider: up, model: m3}]}
  - {name: chat, targets: [{provider: up, model: m4}]}
default_route: chat
`

func TestRoutesGroundShowsTypesExamplesAndThresholds(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(path, []byte(conditionsOnly), 0o644); err != nil {
		t.Fatal(err)
	}
	models := modelsRootOf(t)
	r := runCmd(t, nil, "", "routes", "ground", "--config", path, "--models", models, "--json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var out struct {
		Aggregation string            `json:"aggregation"`
		Routes      []ground.Grounded `json:"routes"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	// legal has no examples: auto scores with max (ground.LDAMinExamples).
	if out.Aggregation != "max" || len(out.Routes) != 4 {
		t.Fatalf("aggregation %q, %d routes", out.Aggregation, len(out.Routes))
	}
	code, sum, legal, chat := out.Routes[0], out.Routes[1], out.Routes[2], out.Routes[3]
	if !slices.Contains(code.TaskNames(), "coding") || !slices.Contains(code.TaskNames(), "debugging") || len(code.Examples) < 20 {
		t.Errorf("code grounded in %v with %d examples", code.TaskNames(), len(code.Examples))
	}
	if !slices.Equal(sum.TaskNames(), []string{"summarization"}) || sum.ThresholdFrom != ground.FromAuto || sum.Calibration == nil {
		t.Errorf("summarise: %+v", sum)
	}
	if len(legal.Tasks) != 0 || len(legal.Examples) != 0 || legal.ThresholdFrom != ground.FromAuto {
		t.Errorf("legal (ground: false): %+v", legal)
	}
	if chat.ThresholdFrom != ground.FromGlobal {
		t.Errorf("chat: %+v", chat)
	}

	r = runCmd(t, nil, "", "routes", "ground", "--config", path, "--models", models)
	for _, want := range []string{"route code", "grounded in: coding", "pseudo-examples (", "examples:", "threshold:", "(auto;", "route legal", "grounded in: nothing"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("human output lacks %q:\n%s", want, r.stdout)
		}
	}

	// route --explain names the segment that decided and the grounding;
	// without the route that has no examples, the index scores with lda.
	tasksOnly := strings.Replace(conditionsOnly, `  - {name: legal, condition: "contract law, tenancy disputes", ground: false, targets: [{provider: up, model: m3}]}`+"\n", "", 1)
	if err := os.WriteFile(path, []byte(tasksOnly), 0o644); err != nil {
		t.Fatal(err)
	}
	text := "Summarize the following article in two sentences:\n\n" + strings.Repeat("The city council voted on Tuesday to expand the bike lane network across the downtown area, citing safety data. ", 5)
	r = runCmd(t, nil, "", "route", "--config", path, "--models", models, "--explain", text)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{"route: summarise (embedding", "segment: \"Summarize the following article in two sentences:\"", "grounded in: summarization"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("route --explain lacks %q:\n%s", want, r.stdout)
		}
	}
}
