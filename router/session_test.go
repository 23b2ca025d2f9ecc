package router_test

import (
	"strings"
	"testing"
	"time"

	"github.com/switchyard-router/switchyard/classifier"
	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/router"
)

// clock is a settable time source.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// match scripts a classification: best first, each route's score, and
// whether the best cleared its threshold.
func match(cleared bool, scores ...classifier.Score) classifier.Match {
	m := classifier.Match{Route: scores[0].Route, Score: scores[0].Score, Cleared: cleared, Scores: scores, Margin: scores[0].Score}
	if len(scores) > 1 {
		m.Margin = scores[0].Score - scores[1].Score
	}
	return m
}

func stickyRouter(t *testing.T, cls router.Classifier, s *router.Sessions) *router.Router {
	t.Helper()
	r, err := router.New(cls, router.Options{
		Routes: []router.Route{
			{Name: "chat", Chain: chatChain}, {Name: "code", Chain: codeChain},
			{Name: "creative", Chain: creativeChain},
		},
		DefaultRoute: "chat",
		Models:       map[string]*providers.Chain{"gpt-4o-mini": modelChain},
		Sessions:     s,
		StickyMargin: 0.05,
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// conversation grows a chat: each say adds the assistant's previous answer
// and a new user turn, as a client resends its history.
type conversation struct{ msgs []providers.Message }

func (c *conversation) say(text string) *providers.Request {
	if len(c.msgs) > 0 {
		c.msgs = append(c.msgs, assistantText("answer to turn "+itoa(len(c.msgs))))
	}
	c.msgs = append(c.msgs, userText(text))
	return request("auto", append([]providers.Message(nil), c.msgs...)...)
}

func itoa(n int) string { return strings.Repeat("i", n) }

func TestStickyRules(t *testing.T) {
	stub := &stubClassifier{}
	r := stickyRouter(t, stub, router.NewSessions(router.SessionOptions{}))
	var conv conversation
	steps := []struct {
		name    string
		text    string
		match   classifier.Match
		route   string
		by      string
		score   float64
		session bool // the decision reports a session key
	}{
		{"a first turn routes as usual", "write a function",
			match(true, classifier.Score{Route: "code", Score: 0.7}, classifier.Score{Route: "creative", Score: 0.2}),
			"code", router.ByEmbedding, 0.7, false},
		{"a narrow lead does not take over", "make it shorter",
			match(true, classifier.Score{Route: "creative", Score: 0.44}, classifier.Score{Route: "code", Score: 0.40}),
			"code", router.BySticky, 0.40, true},
		{"nothing cleared keeps the route", "thanks",
			match(false, classifier.Score{Route: "creative", Score: 0.1}, classifier.Score{Route: "code", Score: 0.05}),
			"code", router.BySticky, 0.05, true},
		{"the session's own route is an embedding decision", "and add tests",
			match(true, classifier.Score{Route: "code", Score: 0.6}, classifier.Score{Route: "creative", Score: 0.1}),
			"code", router.ByEmbedding, 0.6, true},
		{"a clear lead switches", "now a haiku about autumn",
			match(true, classifier.Score{Route: "creative", Score: 0.8}, classifier.Score{Route: "code", Score: 0.1}),
			"creative", router.ByEmbedding, 0.8, true},
		{"and the new route sticks", "shorter please",
			match(true, classifier.Score{Route: "code", Score: 0.45}, classifier.Score{Route: "creative", Score: 0.42}),
			"creative", router.BySticky, 0.42, true},
	}
	for _, st := range steps {
		stub.match = st.match
		d, err := r.Decide(t.Context(), conv.say(st.text))
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if d.Route != st.route || d.DecidedBy != st.by || d.Score != st.score {
			t.Errorf("%s: %s by %s (%.2f), want %s by %s (%.2f); %s", st.name, d.Route, d.DecidedBy, d.Score, st.route, st.by, st.score, d.Fallback)
		}
		if d.DecidedBy == router.BySticky && d.Fallback == "" {
			t.Errorf("%s: a sticky decision says not why", st.name)
		}
		if got := strings.HasPrefix(d.Session, "turns:"); got != st.session {
			t.Errorf("%s: Session = %q, want a turns key: %v", st.name, d.Session, st.session)
		}
		want := map[string]*providers.Chain{"code": codeChain, "creative": creativeChain}[st.route]
		if d.Chain != want {
			t.Errorf("%s: chain is not %s's", st.name, st.route)
		}
	}
}

func TestStickyLeavesExplicitAndDefaultAlone(t *testing.T) {
	stub := &stubClassifier{}
	s := router.NewSessions(router.SessionOptions{})
	r := stickyRouter(t, stub, s)

	// A default decision starts no session.
	var conv conversation
	stub.match = match(false, classifier.Score{Route: "code", Score: 0.1})
	if d, _ := r.Decide(t.Context(), conv.say("hi")); d.DecidedBy != router.ByDefault || s.Len() != 0 {
		t.Fatalf("first turn: %s, %d sessions; want default and none", d.DecidedBy, s.Len())
	}
	stub.match = match(true, classifier.Score{Route: "code", Score: 0.7})
	if d, _ := r.Decide(t.Context(), conv.say("write code")); d.DecidedBy != router.ByEmbedding || d.Route != "code" {
		t.Fatalf("second turn: %s by %s, want code by embedding", d.Route, d.DecidedBy)
	}

	// An explicit model neither reads nor writes the session.
	n := s.Len()
	req := conv.say("explicit")
	req.Model = "gpt-4o-mini"
	if d, _ := r.Decide(t.Context(), req); d.DecidedBy != router.ByExplicit || d.Session != "" || s.Len() != n {
		t.Fatalf("explicit: %s, session %q, %d sessions (was %d)", d.DecidedBy, d.Session, s.Len(), n)
	}
}

func TestSessionKeys(t *testing.T) {
	stub := &stubClassifier{match: match(true, classifier.Score{Route: "code", Score: 0.7}, classifier.Score{Route: "creative", Score: 0.1})}
	r := stickyRouter(t, stub, router.NewSessions(router.SessionOptions{}))
	decide := func(req *providers.Request) router.Decision {
		t.Helper()
		d, err := r.Decide(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	sys := providers.Message{Role: "system", Parts: []providers.Part{{Type: "text", Text: "you are terse"}}}

	// The first turn has no key; the second's key is the first turn's.
	first := decide(request("auto", sys, userText("q1")))
	second := decide(request("auto", sys, userText("q1"), assistantText("a1"), userText("q2")))
	if first.Session != "" || !strings.HasPrefix(second.Session, "turns:") {
		t.Fatalf("sessions %q, %q; want none, then a turns key", first.Session, second.Session)
	}
	// The assistant's answer is not part of the key: another answer, or
	// none, is the same conversation.
	other := decide(request("auto", sys, userText("q1"), assistantText("a different answer"), userText("q2 again")))
	if other.Session != second.Session {
		t.Errorf("key depends on the assistant's answer: %q vs %q", other.Session, second.Session)
	}
	// Another system prompt or another first turn is another conversation.
	for _, msgs := range [][]providers.Message{
		{userText("q1"), assistantText("a1"), userText("q2")},
		{sys, userText("q1 changed"), assistantText("a1"), userText("q2")},
	} {
		if d := decide(request("auto", msgs...)); d.Session == second.Session {
			t.Errorf("%v shares the key %q", msgs, d.Session)
		}
	}

	// The header names the conversation from its first turn on, whatever
	// its messages.
	h1 := request("auto", userText("q1"))
	h1.Session = "conv-42"
	h2 := request("auto", userText("something else entirely"))
	h2.Session = "conv-42"
	d1, d2 := decide(h1), decide(h2)
	if !strings.HasPrefix(d1.Session, "header:") || d1.Session != d2.Session || strings.Contains(d1.Session, "conv-42") {
		t.Errorf("header sessions %q, %q; want one hashed header key", d1.Session, d2.Session)
	}
}

func TestStickyHeaderSession(t *testing.T) {
	stub := &stubClassifier{}
	r := stickyRouter(t, stub, router.NewSessions(router.SessionOptions{}))
	say := func(session string, m classifier.Match) router.Decision {
		t.Helper()
		stub.match = m
		req := request("auto", userText("anything"))
		req.Session = session
		d, err := r.Decide(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	code := match(true, classifier.Score{Route: "code", Score: 0.7}, classifier.Score{Route: "creative", Score: 0.1})
	narrow := match(true, classifier.Score{Route: "creative", Score: 0.5}, classifier.Score{Route: "code", Score: 0.48})
	if d := say("a", code); d.Route != "code" {
		t.Fatalf("first: %s", d.Route)
	}
	if d := say("a", narrow); d.Route != "code" || d.DecidedBy != router.BySticky {
		t.Errorf("same header: %s by %s, want code by sticky", d.Route, d.DecidedBy)
	}
	if d := say("b", narrow); d.Route != "creative" || d.DecidedBy != router.ByEmbedding {
		t.Errorf("another header: %s by %s, want creative by embedding", d.Route, d.DecidedBy)
	}
}

func TestSessionsExpire(t *testing.T) {
	clk := &clock{t: time.Unix(1_000_000, 0)}
	s := router.NewSessions(router.SessionOptions{TTL: 10 * time.Minute, Now: clk.now})
	stub := &stubClassifier{}
	r := stickyRouter(t, stub, s)
	code := match(true, classifier.Score{Route: "code", Score: 0.7}, classifier.Score{Route: "creative", Score: 0.1})
	narrow := match(true, classifier.Score{Route: "creative", Score: 0.5}, classifier.Score{Route: "code", Score: 0.48})
	say := func(m classifier.Match) router.Decision {
		t.Helper()
		stub.match = m
		req := request("auto", userText("x"))
		req.Session = "s"
		d, err := r.Decide(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	say(code)
	clk.t = clk.t.Add(9 * time.Minute)
	if d := say(narrow); d.DecidedBy != router.BySticky {
		t.Fatalf("within the TTL: %s by %s, want sticky", d.Route, d.DecidedBy)
	}
	// Use renews the TTL: 9 more minutes is 18 since the first turn.
	clk.t = clk.t.Add(9 * time.Minute)
	if d := say(narrow); d.DecidedBy != router.BySticky {
		t.Fatalf("within the renewed TTL: %s by %s, want sticky", d.Route, d.DecidedBy)
	}
	clk.t = clk.t.Add(10 * time.Minute)
	if d := say(narrow); d.Route != "creative" || d.DecidedBy != router.ByEmbedding {
		t.Errorf("after the TTL: %s by %s, want creative by embedding", d.Route, d.DecidedBy)
	}
}

func TestSessionsEvictLeastRecentlyUsed(t *testing.T) {
	s := router.NewSessions(router.SessionOptions{Max: 2})
	stub := &stubClassifier{}
	r := stickyRouter(t, stub, s)
	code := match(true, classifier.Score{Route: "code", Score: 0.7}, classifier.Score{Route: "creative", Score: 0.1})
	narrow := match(true, classifier.Score{Route: "creative", Score: 0.5}, classifier.Score{Route: "code", Score: 0.48})
	say := func(session string, m classifier.Match) router.Decision {
		t.Helper()
		stub.match = m
		req := request("auto", userText("x"))
		req.Session = session
		d, _ := r.Decide(t.Context(), req)
		return d
	}
	say("a", code)
	say("b", code)
	say("a", code) // a is now more recent than b
	say("c", code) // evicts b
	if s.Len() != 2 {
		t.Errorf("Len = %d, want 2", s.Len())
	}
	if d := say("a", narrow); d.DecidedBy != router.BySticky {
		t.Errorf("a: %s, want sticky", d.DecidedBy)
	}
	if d := say("b", narrow); d.DecidedBy != router.ByEmbedding {
		t.Errorf("b: %s, want embedding (evicted)", d.DecidedBy)
	}
}

// Sessions outlive a Router; a route the new one lacks is forgotten.
func TestSessionsAcrossRouters(t *testing.T) {
	s := router.NewSessions(router.SessionOptions{})
	stub := &stubClassifier{match: match(true, classifier.Score{Route: "creative", Score: 0.7})}
	req := request("auto", userText("x"))
	req.Session = "s"
	if d, _ := stickyRouter(t, stub, s).Decide(t.Context(), req); d.Route != "creative" {
		t.Fatalf("first: %s", d.Route)
	}
	next, err := router.New(stub, router.Options{
		Routes:       []router.Route{{Name: "chat", Chain: chatChain}, {Name: "code", Chain: codeChain}},
		DefaultRoute: "chat",
		Sessions:     s,
		StickyMargin: 0.05,
	})
	if err != nil {
		t.Fatal(err)
	}
	stub.match = match(false, classifier.Score{Route: "code", Score: 0.1})
	if d, _ := next.Decide(t.Context(), req); d.Route != "chat" || d.DecidedBy != router.ByDefault {
		t.Errorf("after the route went: %s by %s, want chat by default", d.Route, d.DecidedBy)
	}
}
