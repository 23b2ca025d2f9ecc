package proxy_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/switchyard-router/switchyard/classifier"
	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/providers/providertest"
	"github.com/switchyard-router/switchyard/proxy"
	"github.com/switchyard-router/switchyard/router"
)

// A judged decision: /admin/explain shows the judge's part next to every
// route's score and the margin, and a chat answer says decided by judge.
func TestJudgedDecision(t *testing.T) {
	up := providertest.OpenAI(t)
	m := classifier.Match{Route: "code", Score: 0.31, Margin: 0.01, Scores: []classifier.Score{
		{Route: "code", Score: 0.31, Threshold: 0.4}, {Route: "math", Score: 0.30, Threshold: 0.4},
	}}
	dec := router.Decision{
		Route: "math", DecidedBy: router.ByJudge, Score: 0.30, Match: &m, Text: "integrate my function",
		Chain: &providers.Chain{Targets: []providers.Target{target("up", up)}},
		Judge: &router.JudgeInfo{Reason: "no route cleared its threshold", Candidates: []string{"code", "math"}, Answer: "math", Used: true, TookMS: 12.5},
	}
	ts, _ := serve(t, &proxy.Runtime{Router: &stubRouter{dec: dec}, Admin: &proxy.Admin{Token: adminToken, Control: &stubControl{}}})

	res := do(t, t.Context(), ts.Client(), http.MethodPost, ts.URL+"/admin/explain", chatBody, bearer(adminToken)...)
	if res.status != http.StatusOK {
		t.Fatalf("status %d: %s", res.status, res.body)
	}
	var got struct {
		DecidedBy string   `json:"decided_by"`
		Margin    *float64 `json:"margin"`
		Scores    []struct{ Route string }
		Judge     *router.JudgeInfo
	}
	if err := json.Unmarshal(res.body, &got); err != nil {
		t.Fatal(err)
	}
	if got.DecidedBy != "judge" || got.Margin == nil || *got.Margin != 0.01 || len(got.Scores) != 2 {
		t.Errorf("explain = %s", res.body)
	}
	if j := got.Judge; j == nil || !j.Used || j.Answer != "math" || j.TookMS != 12.5 || len(j.Candidates) != 2 {
		t.Errorf("judge = %+v", got.Judge)
	}

	res = do(t, t.Context(), ts.Client(), http.MethodPost, ts.URL+"/v1/chat/completions", chatBody)
	if res.status != http.StatusOK || res.header.Get(proxy.HeaderDecidedBy) != "judge" || res.header.Get(proxy.HeaderRoute) != "math" {
		t.Errorf("chat: status %d, headers %v", res.status, res.header)
	}
}
