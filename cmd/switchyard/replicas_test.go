package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-router/switchyard/gateway"
	"github.com/switchyard-router/switchyard/providers/providertest"
	"github.com/switchyard-router/switchyard/statedb/statedbtest"
	"github.com/switchyard-router/switchyard/usage"
)

// TestReplicasSharePostgres: two servers on one PostgreSQL database (the
// usage store's postgres kind) are one gateway to their clients: a key
// created through one replica's /admin/keys is accepted by the other
// within a refresh, revoked through the other it is refused by both, and
// the rows both write land in one table that `switchyard stats` and each
// replica's /admin/usage read alike.
func TestReplicasSharePostgres(t *testing.T) {
	url := statedbtest.PostgresURL(t)
	up := providertest.OpenAI(t, providertest.Script{Text: "ok", Usage: true}) // 5 + 1 tokens
	dir := t.TempDir()
	cfg := fmt.Sprintf(`listen: 127.0.0.1:0
providers:
  - {name: up, kind: openai, base_url: %s, models: [m]}
api_keys:
  - {name: root, key_env: ROOT_KEY, roles: [admin]}
usage: {store: postgres, postgres_url_env: TEST_PG_URL}
prices:
  m: {input: 1, output: 2}
`, up.URL)
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"ROOT_KEY": "sk-root", "TEST_PG_URL": url, "XDG_DATA_HOME": dir}
	var addrs [2]string
	for i := range addrs {
		addr, stop, logs := startServe(t, vars, "--config", path)
		addrs[i] = addr
		defer func() {
			if code := stop(); code != 0 {
				t.Errorf("replica %d exited %d:\n%s", i, code, logs.String())
			}
		}()
	}
	call := func(addr, method, path, key, body string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), method, "http://"+addr+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, b
	}
	chat := func(addr, key string) int {
		code, _ := call(addr, http.MethodPost, "/v1/chat/completions", key, `{"model":"m","messages":[{"role":"user","content":"hi"}]}`)
		return code
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(3 * gateway.KeyRefresh)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within %v", what, 3*gateway.KeyRefresh)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	code, b := call(addrs[0], http.MethodPost, "/admin/keys", "sk-root", `{"name":"team","budget_month":50}`)
	var created struct{ Key string }
	if code != http.StatusCreated || json.Unmarshal(b, &created) != nil || created.Key == "" {
		t.Fatalf("POST /admin/keys on replica 0: %d %s", code, b)
	}
	if code := chat(addrs[0], created.Key); code != http.StatusOK {
		t.Fatalf("the new key on its replica: %d", code)
	}
	waitFor("replica 1 accepts the key replica 0 created", func() bool { return chat(addrs[1], created.Key) == http.StatusOK })
	for range 3 {
		for _, a := range addrs {
			if code := chat(a, created.Key); code != http.StatusOK {
				t.Fatalf("chat on %s: %d", a, code)
			}
		}
	}
	if code, b := call(addrs[1], http.MethodGet, "/admin/keys", "sk-root", ""); code != http.StatusOK || !strings.Contains(string(b), `"budget_month":50`) {
		t.Errorf("GET /admin/keys on replica 1: %d %s", code, b)
	}
	if code, _ := call(addrs[1], http.MethodDelete, "/admin/keys/team", "sk-root", ""); code != http.StatusOK {
		t.Fatalf("DELETE on replica 1: %d", code)
	}
	waitFor("replica 0 refuses the key replica 1 revoked", func() bool { return chat(addrs[0], created.Key) == http.StatusUnauthorized })

	// 1 + (1 or more while replica 1 caught up) + 6 requests answered, each
	// 5 prompt and 1 completion token: count them in the table once both
	// writers have flushed (the count holds still past their 1 s batch
	// interval), then through stats and both replicas' /admin/usage.
	store, err := usage.OpenPostgresURL(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var direct struct{ n, prompt int64 }
	last, since := int64(-1), time.Now()
	waitFor("both replicas' rows written", func() bool {
		err := store.DB().QueryRowContext(t.Context(), "SELECT COUNT(*), COALESCE(SUM(prompt_tokens), 0) FROM requests WHERE key = 'team'").
			Scan(&direct.n, &direct.prompt)
		if err != nil || direct.n != last {
			last, since = direct.n, time.Now()
			return false
		}
		return direct.n >= 8 && time.Since(since) > 1500*time.Millisecond
	})
	if direct.prompt != 5*direct.n {
		t.Errorf("%d rows with %d prompt tokens, want 5 each", direct.n, direct.prompt)
	}
	var out bytes.Buffer
	cli := env{getenv: func(k string) string { return vars[k] }, environ: func() []string { return nil }, stdin: strings.NewReader(""), stdout: &out, stderr: io.Discard}
	if code := run(t.Context(), []string{"stats", "--config", path, "--by", "key", "--json"}, cli); code != 0 {
		t.Fatalf("stats exited %d", code)
	}
	var st struct{ Groups []usage.Group }
	if err := json.Unmarshal(out.Bytes(), &st); err != nil {
		t.Fatalf("stats --json: %v\n%s", err, out.String())
	}
	var team *usage.Group
	for i := range st.Groups {
		if st.Groups[i].Name == "team" {
			team = &st.Groups[i]
		}
	}
	if team == nil || team.Requests != direct.n || team.PromptTokens != direct.prompt || team.CompletionTokens != direct.n ||
		math.Abs(team.Cost-float64(direct.n)*(5*1+1*2)/1e6) > 1e-12 {
		t.Fatalf("stats for team %+v, want the %d rows counted directly", team, direct.n)
	}
	for i, a := range addrs {
		code, b := call(a, http.MethodGet, "/admin/usage?by=key&days=1", "sk-root", "")
		var got struct{ Groups []usage.Group }
		if code != http.StatusOK || json.Unmarshal(b, &got) != nil {
			t.Fatalf("replica %d /admin/usage: %d %s", i, code, b)
		}
		seen := false
		for _, g := range got.Groups {
			if g.Name == "team" {
				seen = true
				if g != *team {
					t.Errorf("replica %d /admin/usage %+v, stats %+v", i, g, *team)
				}
			}
		}
		if !seen {
			t.Errorf("replica %d /admin/usage has no row for team: %s", i, b)
		}
	}
}
