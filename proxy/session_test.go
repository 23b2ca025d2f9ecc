package proxy_test

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"testing"

	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/proxy"
	"github.com/switchyard-router/switchyard/router"
)

// sessionRouter records the session each request carried and answers with
// a sticky decision naming it.
type sessionRouter struct {
	mu       sync.Mutex
	sessions []string
}

func (s *sessionRouter) Decide(_ context.Context, req *providers.Request) (router.Decision, error) {
	s.mu.Lock()
	s.sessions = append(s.sessions, req.Session)
	s.mu.Unlock()
	return router.Decision{Route: "code", DecidedBy: router.BySticky, Session: "header:0123456789ab", Chain: &providers.Chain{}}, nil
}

// The X-Switchyard-Session header reaches the router from every endpoint
// that routes, and explain reports the session key.
func TestSessionHeaderReachesTheRouter(t *testing.T) {
	rec := &sessionRouter{}
	ts, _ := serve(t, &proxy.Runtime{Router: rec, Admin: &proxy.Admin{Token: adminToken, Control: &stubControl{}}})
	chat := `{"model":"auto","messages":[{"role":"user","content":"make it shorter"}]}`
	messages := `{"model":"auto","max_tokens":10,"messages":[{"role":"user","content":"make it shorter"}]}`

	do(t, t.Context(), ts.Client(), http.MethodPost, ts.URL+"/v1/chat/completions", chat, proxy.HeaderSession, "conv-1")
	do(t, t.Context(), ts.Client(), http.MethodPost, ts.URL+"/v1/messages", messages, proxy.HeaderSession, "conv-2")
	do(t, t.Context(), ts.Client(), http.MethodPost, ts.URL+"/v1/chat/completions", chat)
	res := do(t, t.Context(), ts.Client(), http.MethodPost, ts.URL+"/admin/explain", chat,
		append(bearer(adminToken), proxy.HeaderSession, "conv-3")...)

	want := []string{"conv-1", "conv-2", "", "conv-3"}
	if len(rec.sessions) != len(want) {
		t.Fatalf("router saw sessions %q, want %q", rec.sessions, want)
	}
	for i := range want {
		if rec.sessions[i] != want[i] {
			t.Errorf("router saw sessions %q, want %q", rec.sessions, want)
			break
		}
	}
	var got struct {
		DecidedBy string `json:"decided_by"`
		Session   string
	}
	if err := json.Unmarshal(res.body, &got); err != nil {
		t.Fatalf("explain: %v: %s", err, res.body)
	}
	if got.DecidedBy != router.BySticky || got.Session != "header:0123456789ab" {
		t.Errorf("explain = %s", res.body)
	}
}
