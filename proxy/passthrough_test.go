package proxy_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	oai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/switchyard-router/switchyard/auth"
	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/providers/anthropic"
	"github.com/switchyard-router/switchyard/providers/ocf"
	"github.com/switchyard-router/switchyard/providers/providertest"
	"github.com/switchyard-router/switchyard/proxy"
	"github.com/switchyard-router/switchyard/router"
	"github.com/switchyard-router/switchyard/usage"
)

// modelRouter serves every model from one chain, as a router does for a
// configured model, and records what it was asked.
func modelRouter(t *testing.T, chain *providers.Chain) router.Options {
	t.Helper()
	return router.Options{Models: map[string]*providers.Chain{"fake-model": chain}}
}

func newRouter(t *testing.T, o router.Options) *router.Router {
	t.Helper()
	r, err := router.New(nil, o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func post(t *testing.T, url, body string, header ...string) result {
	t.Helper()
	return do(t, t.Context(), http.DefaultClient, http.MethodPost, url, body, header...)
}

// wantOpenAIError checks an OpenAI error body with status and returns it.
func wantOpenAIError(t *testing.T, res result, status int) apiError {
	t.Helper()
	if res.status != status {
		t.Errorf("status = %d, want %d (body %s)", res.status, status, res.body)
	}
	var e apiError
	if err := json.Unmarshal(res.body, &e); err != nil || e.Error.Message == "" {
		t.Fatalf("body %s is not an OpenAI error: %v", res.body, err)
	}
	return e
}

// TestForwardFailover: each forwarded path, streamed or not, fails over
// from a 503 to the next target; a 400 is the client's and passes through
// without failover. The body reaches the upstream as sent, but for the
// model.
func TestForwardFailover(t *testing.T) {
	paths := []struct {
		path, body string
		want       string // in the answer
	}{
		{"/v1/embeddings", `{"model":"fake-model","input":["a","b"],"encoding_format":"float","x_extra":1}`, `"object":"embedding"`},
		{"/v1/completions", `{"model":"fake-model","prompt":"Say hi","max_tokens":5,"x_extra":1}`, `"text":"Hello"`},
		{"/v1/completions", `{"model":"fake-model","prompt":"Say hi","stream":true,"x_extra":1}`, `"text":"Hel"`},
		{"/v1/responses", `{"model":"fake-model","input":"Say hi","x_extra":1}`, `"output_text"`},
		{"/v1/responses", `{"model":"fake-model","input":"Say hi","stream":true,"x_extra":1}`, `event: response.output_text.delta`},
		{"/embeddings", `{"model":"fake-model","input":"a","x_extra":1}`, `"object":"embedding"`},
	}
	for _, p := range paths {
		t.Run(strings.TrimPrefix(p.path, "/")+map[bool]string{true: " stream", false: ""}[strings.Contains(p.body, `"stream":true`)], func(t *testing.T) {
			for _, tc := range []struct {
				name        string
				primary     providertest.Script
				wantStatus  int
				wantBackups int
			}{
				{"503 fails over", providertest.Script{Status: 503}, 200, 1},
				{"400 passes through", providertest.Script{Status: 400}, 400, 0},
			} {
				t.Run(tc.name, func(t *testing.T) {
					primary := providertest.OpenAI(t, tc.primary)
					backup := providertest.OpenAI(t, providertest.Script{Chunks: []string{"Hel", "lo"}})
					chain := &providers.Chain{Targets: []providers.Target{target("primary", primary), target("backup", backup)}}
					ts, _ := serve(t, &proxy.Runtime{Router: newRouter(t, modelRouter(t, chain))})
					res := post(t, ts.URL+p.path, p.body)
					if tc.wantStatus != 200 {
						e := wantOpenAIError(t, res, tc.wantStatus)
						if !strings.Contains(e.Error.Message, "fake upstream: status 400") {
							t.Errorf("message %q does not pass the upstream's on", e.Error.Message)
						}
					} else {
						if res.status != 200 || !strings.Contains(string(res.body), p.want) {
							t.Fatalf("status %d, body %s; want 200 with %s", res.status, res.body, p.want)
						}
						if got := res.header.Get(proxy.HeaderModel); got != "backup/fake-model" {
							t.Errorf("%s = %q, want backup/fake-model", proxy.HeaderModel, got)
						}
					}
					if primary.Requests() != 1 || backup.Requests() != tc.wantBackups {
						t.Errorf("requests: primary %d, backup %d; want 1, %d", primary.Requests(), backup.Requests(), tc.wantBackups)
					}
					if tc.wantBackups == 1 {
						var sent map[string]json.RawMessage
						json.Unmarshal(backup.LastBody(), &sent)
						if string(sent["x_extra"]) != "1" || string(sent["model"]) != `"fake-model"` {
							t.Errorf("upstream got %s; want the client's fields as sent", backup.LastBody())
						}
					}
				})
			}
		})
	}
}

// TestForwardStreamRelay: a completions stream reaches the client event
// by event, [DONE] included, and a stream that fails after its first
// event is not failed over but ends with an in-band error.
func TestForwardStreamRelay(t *testing.T) {
	up := providertest.OpenAI(t, providertest.Script{Chunks: []string{"a", "b", "c"}})
	ts, _ := serve(t, &proxy.Runtime{Router: newRouter(t, modelRouter(t, &providers.Chain{Targets: []providers.Target{target("up", up)}}))})
	res := post(t, ts.URL+"/v1/completions", `{"model":"fake-model","prompt":"x","stream":true}`)
	if ct := res.header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q, body %s", ct, res.body)
	}
	evs := events(t, res.body)
	if len(evs) != 5 || evs[len(evs)-1] != "[DONE]" || !strings.Contains(evs[1], `"text":"b"`) {
		t.Errorf("events %q: want a, b, c, the finish chunk, [DONE]", evs)
	}

	backup := providertest.OpenAI(t)
	// After its first event, the upstream sends a line longer than any
	// event may be.
	broken := providertest.OpenAI(t, providertest.Script{Body: "data: {\"text\":\"a\"}\n\n" + strings.Repeat("x", 5<<20), ContentType: "text/event-stream"})
	ts2, _ := serve(t, &proxy.Runtime{Router: newRouter(t, modelRouter(t, &providers.Chain{Targets: []providers.Target{target("broken", broken), target("backup", backup)}}))})
	res = post(t, ts2.URL+"/v1/completions", `{"model":"fake-model","prompt":"x","stream":true}`)
	evs = events(t, res.body)
	if res.status != 200 || len(evs) != 2 || !strings.Contains(evs[1], `"error"`) {
		t.Errorf("status %d, events %q: want the first event, then an in-band error", res.status, evs)
	}
	if backup.Requests() != 0 {
		t.Errorf("backup got %d requests after the stream was committed", backup.Requests())
	}
}

// TestForwardRefusals: no model, "auto", an unknown model, an oversize
// body and a model only an Anthropic provider serves are refused in
// OpenAI's error format.
func TestForwardRefusals(t *testing.T) {
	up := providertest.OpenAI(t)
	anth := providertest.Anthropic(t)
	chains := map[string]*providers.Chain{
		"fake-model": {Targets: []providers.Target{target("up", up)}},
		"claude": {Name: "model \"claude\"", Targets: []providers.Target{{Name: "anth/claude", Model: "claude",
			Provider: anthropic.New("anth", anth.URL, "k", anth.Client())}}},
	}
	ts, _ := serve(t, &proxy.Runtime{Router: newRouter(t, router.Options{Models: chains}), MaxBody: 256})
	for _, tc := range []struct {
		name, body string
		status     int
		want       string
	}{
		{"no model", `{"input":"a"}`, 400, "model: required"},
		{"auto", `{"model":"auto","input":"a"}`, 400, "not routed semantically"},
		{"unknown", `{"model":"nope","input":"a"}`, 404, "nope"},
		{"not an object", `[1]`, 400, ""},
		{"oversize", `{"model":"fake-model","input":"` + strings.Repeat("a", 300) + `"}`, 413, "exceeds the limit"},
		{"anthropic only", `{"model":"claude","input":"a"}`, 400, "cannot take /embeddings"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := wantOpenAIError(t, post(t, ts.URL+"/v1/embeddings", tc.body), tc.status)
			if !strings.Contains(e.Error.Message, tc.want) {
				t.Errorf("message %q, want it to say %q", e.Error.Message, tc.want)
			}
		})
	}
	if up.Requests() != 0 || anth.Requests() != 0 {
		t.Errorf("upstreams got %d, %d requests; want none", up.Requests(), anth.Requests())
	}

	// A chain that mixes kinds forwards to the targets that can take the
	// path, skipping the others without counting them as failures.
	mixed := &providers.Chain{Targets: []providers.Target{chains["claude"].Targets[0], target("up", up)}}
	ts2, _ := serve(t, &proxy.Runtime{Router: newRouter(t, modelRouter(t, mixed))})
	if res := post(t, ts2.URL+"/v1/embeddings", `{"model":"fake-model","input":"a"}`); res.status != 200 || res.header.Get(proxy.HeaderModel) != "up/fake-model" {
		t.Errorf("mixed chain: %d %s", res.status, res.body)
	}
	if anth.Requests() != 0 {
		t.Errorf("the Anthropic upstream got %d forwarded requests", anth.Requests())
	}
}

// TestForwardStreamAnsweredWhole: an upstream that answers a stream
// request with one JSON body has it relayed whole.
func TestForwardStreamAnsweredWhole(t *testing.T) {
	up := providertest.OpenAI(t, providertest.Script{Body: `{"object":"list","data":[],"usage":{"prompt_tokens":2}}`, ContentType: "application/json"})
	ts, _ := serve(t, &proxy.Runtime{Router: newRouter(t, modelRouter(t, &providers.Chain{Targets: []providers.Target{target("up", up)}}))})
	res := post(t, ts.URL+"/v1/completions", `{"model":"fake-model","prompt":"x","stream":true}`)
	if res.status != 200 || res.header.Get("Content-Type") != "application/json" || !strings.Contains(string(res.body), `"prompt_tokens":2`) {
		t.Errorf("%d %v %s", res.status, res.header, res.body)
	}
}

// recorder collects usage rows.
type recorder struct {
	mu   sync.Mutex
	rows []usage.Record
}

func (r *recorder) Add(rec usage.Record) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rows = append(r.rows, rec)
}

func (r *recorder) all() []usage.Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]usage.Record(nil), r.rows...)
}

// TestForwardKeysLimitsUsage: a pass-through path needs a key, honours
// its model allowlist and request limit, and writes a usage row with the
// upstream's token counts.
func TestForwardKeysLimitsUsage(t *testing.T) {
	up := providertest.OpenAI(t)
	chains := map[string]*providers.Chain{
		"fake-model":  {Targets: []providers.Target{target("up", up)}},
		"other-model": {Targets: []providers.Target{target("up", up)}},
	}
	limited := auth.Key{Name: "limited", Roles: []string{auth.RoleUser}, Enabled: true, Models: []string{"fake-model"}, RequestsPerMinute: 2}.WithHash(auth.Hash("sk-limited-1"))
	keys, err := auth.NewLive(t.Context(), []auth.Key{limited}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	ts, _ := serve(t, &proxy.Runtime{Router: newRouter(t, router.Options{Models: chains}), Keys: keys, Limits: auth.NewLimiter(), Usage: rec})
	body := `{"model":"fake-model","input":["a","b"]}`

	wantOpenAIError(t, post(t, ts.URL+"/v1/embeddings", body), http.StatusUnauthorized)
	wantOpenAIError(t, post(t, ts.URL+"/v1/embeddings", `{"model":"other-model","input":"a"}`, "Authorization", "Bearer sk-limited-1"), http.StatusForbidden)
	for i := range 2 {
		if res := post(t, ts.URL+"/v1/embeddings", body, "Authorization", "Bearer sk-limited-1"); res.status != 200 {
			t.Fatalf("request %d: status %d, body %s", i, res.status, res.body)
		}
	}
	res := post(t, ts.URL+"/v1/embeddings", body, "Authorization", "Bearer sk-limited-1")
	wantOpenAIError(t, res, http.StatusTooManyRequests)
	if res.header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	if up.Requests() != 2 {
		t.Errorf("upstream got %d requests, want 2", up.Requests())
	}
	rows := rec.all()
	if len(rows) != 2 {
		t.Fatalf("%d usage rows, want 2 (one per forwarded request): %+v", len(rows), rows)
	}
	r := rows[0]
	if r.Key != "limited" || r.Provider != "up" || r.Model != "fake-model" || r.Status != 200 || r.PromptTokens != 6 {
		t.Errorf("usage row %+v: want key limited, provider up, model fake-model, status 200, 6 prompt tokens", r)
	}
}

// TestForwardOpenAISDK: the official SDK's embeddings and completions
// calls work through switchyard.
func TestForwardOpenAISDK(t *testing.T) {
	up := providertest.OpenAI(t, providertest.Script{Text: "Hi there", Usage: true})
	ts, _ := serve(t, &proxy.Runtime{Router: newRouter(t, modelRouter(t, &providers.Chain{Targets: []providers.Target{target("up", up)}}))})
	client := oai.NewClient(option.WithBaseURL(ts.URL+"/v1"), option.WithAPIKey("unused"), option.WithMaxRetries(0))
	emb, err := client.Embeddings.New(t.Context(), oai.EmbeddingNewParams{
		Model: "fake-model",
		Input: oai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"one", "two"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(emb.Data) != 2 || len(emb.Data[1].Embedding) != 3 || emb.Usage.PromptTokens != 6 {
		t.Errorf("embeddings %+v: want 2 vectors of 3 and 6 prompt tokens", emb)
	}
	cmpl, err := client.Completions.New(t.Context(), oai.CompletionNewParams{
		Model:  "fake-model",
		Prompt: oai.CompletionNewParamsPromptUnion{OfString: oai.String("Say hi")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(cmpl.Choices) != 1 || cmpl.Choices[0].Text != "Hi there" {
		t.Errorf("completion %+v: want Hi there", cmpl)
	}
	stream := client.Completions.NewStreaming(t.Context(), oai.CompletionNewParams{
		Model:  "fake-model",
		Prompt: oai.CompletionNewParamsPromptUnion{OfString: oai.String("Say hi")},
	})
	var text strings.Builder
	for stream.Next() {
		for _, c := range stream.Current().Choices {
			text.WriteString(c.Text)
		}
	}
	if err := stream.Err(); err != nil || text.String() != "Hi there" {
		t.Errorf("streamed %q, %v; want Hi there", text.String(), err)
	}
}

// TestModelByID: GET /v1/models/{id} answers from /v1/models' list, ids
// with slashes included; an unknown id is OpenAI's model_not_found.
func TestModelByID(t *testing.T) {
	ts, _ := serve(t, &proxy.Runtime{Router: &stubRouter{}, Models: []proxy.ModelInfo{{ID: "Qwen/Qwen2.5-7B", OwnedBy: "ocf"}, {ID: "fast", OwnedBy: "switchyard"}}})
	for _, path := range []string{"/v1/models/Qwen/Qwen2.5-7B", "/models/fast", "/v1/models/auto"} {
		res := do(t, t.Context(), http.DefaultClient, http.MethodGet, ts.URL+path, "")
		var m struct{ ID, Object, OwnedBy string }
		if err := json.Unmarshal(res.body, &m); res.status != 200 || err != nil || m.Object != "model" || !strings.HasSuffix(path, "/"+m.ID) {
			t.Errorf("GET %s: %d %s", path, res.status, res.body)
		}
	}
	res := do(t, t.Context(), http.DefaultClient, http.MethodGet, ts.URL+"/v1/models/gpt-9", "")
	e := wantOpenAIError(t, res, http.StatusNotFound)
	if e.Error.Code != "model_not_found" || !strings.Contains(e.Error.Message, "gpt-9") {
		t.Errorf("error %+v: want code model_not_found naming gpt-9", e.Error)
	}
}

// TestOCFDiscoveredAndRouted: an ocf provider's models come from its node
// table; a client naming one is served through the node's LLM service,
// on chat and on a forwarded path, and GET /v1/endpoints and /v1/models
// list it.
func TestOCFDiscoveredAndRouted(t *testing.T) {
	node := providertest.OCF(t, []string{"Qwen/Qwen2.5-7B-Instruct", "meta-llama/Llama-3-8B"}, providertest.Script{Text: "from ocf"})
	c := ocf.New("ocf", node.URL()+"/", "sk-ocf-secret", nil)
	reg := providers.NewRegistry()
	cat := providers.NewCatalog([]providers.Source{{Name: "ocf", Provider: c, Lister: c}}, reg, providers.CatalogOptions{})
	t.Cleanup(cat.Close)
	rt := &proxy.Runtime{
		Router:    newRouter(t, router.Options{Discover: cat.Chain}),
		Discovery: cat, Health: reg,
		Endpoints: []proxy.Endpoint{{Name: "ocf", Kind: "ocf", BaseURL: "http://user:pw@" + strings.TrimPrefix(node.URL(), "http://") + "?token=x"}},
	}
	ts, _ := serve(t, rt)

	res := chat(t, ts, `{"model":"Qwen/Qwen2.5-7B-Instruct","messages":[{"role":"user","content":"hi"}]}`)
	if res.status != 200 || !strings.Contains(string(res.body), "from ocf") || res.header.Get(proxy.HeaderModel) != "ocf/Qwen/Qwen2.5-7B-Instruct" {
		t.Fatalf("chat: %d %s %v", res.status, res.body, res.header)
	}
	res = post(t, ts.URL+"/v1/embeddings", `{"model":"meta-llama/Llama-3-8B","input":"a"}`)
	if res.status != 200 || !strings.Contains(string(res.body), `"model":"meta-llama/Llama-3-8B"`) {
		t.Fatalf("embeddings: %d %s", res.status, res.body)
	}
	if got := node.LastHeader().Get("Authorization"); got != "Bearer sk-ocf-secret" {
		t.Errorf("the node got Authorization %q", got)
	}
	wantOpenAIError(t, post(t, ts.URL+"/v1/embeddings", `{"model":"not-an-llm","input":"a"}`), http.StatusNotFound)

	res = do(t, t.Context(), http.DefaultClient, http.MethodGet, ts.URL+"/v1/endpoints", "")
	var list struct {
		Object string
		Data   []struct {
			ID, Object, Kind, URL string
			Models                []string
		}
	}
	if err := json.Unmarshal(res.body, &list); err != nil || list.Object != "list" || len(list.Data) != 1 {
		t.Fatalf("endpoints: %s (%v)", res.body, err)
	}
	ep := list.Data[0]
	if ep.ID != "ocf" || ep.Kind != "ocf" || strings.Join(ep.Models, ",") != "Qwen/Qwen2.5-7B-Instruct,meta-llama/Llama-3-8B" {
		t.Errorf("endpoint %+v", ep)
	}
	if strings.Contains(ep.URL, "pw") || strings.Contains(ep.URL, "token") || strings.Contains(string(res.body), "sk-ocf") {
		t.Errorf("endpoint URL %q shows a secret", ep.URL)
	}
	res = do(t, t.Context(), http.DefaultClient, http.MethodGet, ts.URL+"/v1/models", "")
	if !strings.Contains(string(res.body), `"id":"meta-llama/Llama-3-8B"`) {
		t.Errorf("/v1/models does not list the discovered model: %s", res.body)
	}
	if node.TableHits() == 0 {
		t.Error("the node table was never read")
	}
}

// TestForwardFirstByteTimeout: a stream whose upstream sends nothing
// within the target's first-byte timeout moves on to the next target.
func TestForwardFirstByteTimeout(t *testing.T) {
	slow := providertest.OpenAI(t, providertest.Script{Delay: 5 * time.Second})
	fast := providertest.OpenAI(t)
	st := target("slow", slow)
	st.FirstByteTimeout = 100 * time.Millisecond
	ts, _ := serve(t, &proxy.Runtime{Router: newRouter(t, modelRouter(t, &providers.Chain{Targets: []providers.Target{st, target("fast", fast)}}))})
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Second)
	defer cancel()
	res := do(t, ctx, http.DefaultClient, http.MethodPost, ts.URL+"/v1/completions", `{"model":"fake-model","prompt":"x","stream":true}`)
	if res.status != 200 || res.header.Get(proxy.HeaderModel) != "fast/fake-model" {
		t.Errorf("status %d, model %q: want the fast target", res.status, res.header.Get(proxy.HeaderModel))
	}
}

// TestForwardStreamIdleTimeout: a forwarded stream whose upstream stalls
// after its first event ends with an in-band error that says it timed out
// (not that the request was cancelled), and no failover.
func TestForwardStreamIdleTimeout(t *testing.T) {
	stall := providertest.OpenAI(t, providertest.Script{Chunks: []string{"a", "b"}, ChunkDelay: 3 * time.Second})
	backup := providertest.OpenAI(t)
	st := target("stall", stall)
	st.IdleTimeout = 100 * time.Millisecond
	ts, _ := serve(t, &proxy.Runtime{Router: newRouter(t, modelRouter(t, &providers.Chain{Targets: []providers.Target{st, target("backup", backup)}}))})
	res := post(t, ts.URL+"/v1/completions", `{"model":"fake-model","prompt":"x","stream":true}`)
	evs := events(t, res.body)
	if res.status != 200 || len(evs) != 2 || !strings.Contains(evs[0], `"text":"a"`) {
		t.Fatalf("status %d, events %q: want the first event, then an in-band error", res.status, evs)
	}
	if !strings.Contains(evs[1], "stream_idle_timeout") || strings.Contains(evs[1], "cancel") {
		t.Errorf("in-band error %s: want the idle timeout named", evs[1])
	}
	if backup.Requests() != 0 {
		t.Errorf("backup got %d requests after the stream was committed", backup.Requests())
	}
}
