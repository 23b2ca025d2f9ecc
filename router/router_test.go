package router_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/switchyard-router/switchyard/classifier"
	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/router"
)

// stubClassifier answers every Classify with a scripted Match or error, and
// records the text it was asked about.
type stubClassifier struct {
	match classifier.Match
	err   error
	// during, when set, runs inside Classify before it answers (to cancel
	// the caller's context mid-classification).
	during func()
	texts  []string
}

func (s *stubClassifier) Classify(ctx context.Context, text string) (classifier.Match, error) {
	s.texts = append(s.texts, text)
	if s.during != nil {
		s.during()
	}
	return s.match, s.err
}

// Chains are compared by identity: each route and model gets its own.
var (
	chatChain  = &providers.Chain{}
	codeChain  = &providers.Chain{}
	modelChain = &providers.Chain{}
)

func newRouter(t *testing.T, cls router.Classifier) *router.Router {
	t.Helper()
	r, err := router.New(cls, router.Options{
		Routes:       []router.Route{{Name: "chat", Chain: chatChain}, {Name: "code", Chain: codeChain}},
		DefaultRoute: "chat",
		Models:       map[string]*providers.Chain{"gpt-4o-mini": modelChain},
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return r
}

func userText(text string) providers.Message {
	return providers.Message{Role: "user", Parts: []providers.Part{{Type: "text", Text: text}}}
}

func request(model string, msgs ...providers.Message) *providers.Request {
	if msgs == nil {
		msgs = []providers.Message{userText("write a quicksort in go")}
	}
	return &providers.Request{Model: model, Messages: msgs}
}

// scores is a Match as the classifier reports it: code on top.
func scores(cleared bool) classifier.Match {
	return classifier.Match{
		Route:   "code",
		Score:   0.71,
		Cleared: cleared,
		Margin:  0.29,
		Scores: []classifier.Score{
			{Route: "code", Score: 0.71, Threshold: 0.8},
			{Route: "chat", Score: 0.42, Threshold: 0.5},
		},
	}
}

func TestDecide(t *testing.T) {
	classifyErr := errors.New("embedder unreachable")
	tests := []struct {
		name         string
		model        string
		msgs         []providers.Message
		cls          *stubClassifier // nil = a classifier that must not be asked
		wantRoute    string
		wantModel    string
		wantBy       string
		wantChain    *providers.Chain
		wantScore    float64
		wantMatch    bool
		wantFallback string // substring; "" = Fallback must be empty
		wantText     string
		wantAsked    bool
	}{
		{
			name: "explicit route name", model: "code",
			wantRoute: "code", wantBy: router.ByExplicit, wantChain: codeChain,
		},
		{
			name: "explicit served model", model: "gpt-4o-mini",
			wantModel: "gpt-4o-mini", wantBy: router.ByExplicit, wantChain: modelChain,
		},
		{
			name: "empty model classifies", model: "",
			cls:       &stubClassifier{match: scores(true)},
			wantRoute: "code", wantBy: router.ByEmbedding, wantChain: codeChain,
			wantScore: 0.71, wantMatch: true, wantText: "write a quicksort in go", wantAsked: true,
		},
		{
			name: "auto classifies", model: "auto",
			cls:       &stubClassifier{match: scores(true)},
			wantRoute: "code", wantBy: router.ByEmbedding, wantChain: codeChain,
			wantScore: 0.71, wantMatch: true, wantText: "write a quicksort in go", wantAsked: true,
		},
		{
			name: "AUTO classifies", model: "AUTO",
			cls:       &stubClassifier{match: scores(true)},
			wantRoute: "code", wantBy: router.ByEmbedding, wantChain: codeChain,
			wantScore: 0.71, wantMatch: true, wantText: "write a quicksort in go", wantAsked: true,
		},
		{
			name: "below threshold takes the default and reports the best score", model: "auto",
			cls:       &stubClassifier{match: scores(false)},
			wantRoute: "chat", wantBy: router.ByDefault, wantChain: chatChain,
			wantScore: 0.71, wantMatch: true, wantFallback: "below its threshold",
			wantText: "write a quicksort in go", wantAsked: true,
		},
		{
			name: "cleared route that is not configured takes the default", model: "auto",
			cls: &stubClassifier{match: classifier.Match{Route: "gone", Score: 0.9, Cleared: true,
				Scores: []classifier.Score{{Route: "gone", Score: 0.9}, {Route: "chat", Score: 0.3}}}},
			wantRoute: "chat", wantBy: router.ByDefault, wantChain: chatChain,
			wantScore: 0.9, wantMatch: true, wantFallback: `"gone"`,
			wantText: "write a quicksort in go", wantAsked: true,
		},
		{
			name: "no route has a condition", model: "auto",
			cls:       &stubClassifier{err: classifier.ErrNoRoutes},
			wantRoute: "chat", wantBy: router.ByDefault, wantChain: chatChain,
			wantFallback: "no route has a condition", wantText: "write a quicksort in go", wantAsked: true,
		},
		{
			name: "wrapped ErrNoRoutes", model: "auto",
			cls:       &stubClassifier{err: errors.Join(errors.New("index"), classifier.ErrNoRoutes)},
			wantRoute: "chat", wantBy: router.ByDefault, wantChain: chatChain,
			wantFallback: "no route has a condition", wantText: "write a quicksort in go", wantAsked: true,
		},
		{
			name: "classifier error is absorbed", model: "auto",
			cls:       &stubClassifier{err: classifyErr},
			wantRoute: "chat", wantBy: router.ByDefault, wantChain: chatChain,
			wantFallback: "classification failed: embedder unreachable",
			wantText:     "write a quicksort in go", wantAsked: true,
		},
		{
			name: "no user text takes the default unasked", model: "auto",
			msgs:      []providers.Message{{Role: "system", Parts: []providers.Part{{Type: "text", Text: "be brief"}}}},
			cls:       &stubClassifier{},
			wantRoute: "chat", wantBy: router.ByDefault, wantChain: chatChain,
			wantFallback: "no text",
		},
		{
			name: "image-only turn takes the default unasked", model: "auto",
			msgs:      []providers.Message{{Role: "user", Parts: []providers.Part{{Type: "image_url", URL: "data:image/png;base64,AA=="}}}},
			cls:       &stubClassifier{},
			wantRoute: "chat", wantBy: router.ByDefault, wantChain: chatChain,
			wantFallback: "no text",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cls router.Classifier
			if tt.cls != nil {
				cls = tt.cls
			}
			r := newRouter(t, cls)
			d, err := r.Decide(t.Context(), request(tt.model, tt.msgs...))
			if err != nil {
				t.Fatalf("Decide: %v", err)
			}
			if d.Route != tt.wantRoute || d.Model != tt.wantModel || d.DecidedBy != tt.wantBy {
				t.Errorf("Route, Model, DecidedBy = %q, %q, %q; want %q, %q, %q",
					d.Route, d.Model, d.DecidedBy, tt.wantRoute, tt.wantModel, tt.wantBy)
			}
			if d.Chain != tt.wantChain {
				t.Errorf("Chain = %p, want %p", d.Chain, tt.wantChain)
			}
			if d.Score != tt.wantScore {
				t.Errorf("Score = %v, want %v", d.Score, tt.wantScore)
			}
			if (d.Match != nil) != tt.wantMatch {
				t.Errorf("Match = %+v, want set: %v", d.Match, tt.wantMatch)
			}
			switch {
			case tt.wantFallback == "" && d.Fallback != "":
				t.Errorf("Fallback = %q, want none", d.Fallback)
			case !strings.Contains(d.Fallback, tt.wantFallback):
				t.Errorf("Fallback = %q, want it to mention %q", d.Fallback, tt.wantFallback)
			}
			if d.Text != tt.wantText {
				t.Errorf("Text = %q, want %q", d.Text, tt.wantText)
			}
			if tt.cls != nil && (len(tt.cls.texts) > 0) != tt.wantAsked {
				t.Errorf("classifier asked %q, want asked: %v", tt.cls.texts, tt.wantAsked)
			}
		})
	}
}

func TestDecideNoClassifier(t *testing.T) {
	r := newRouter(t, nil)
	d, err := r.Decide(t.Context(), request("auto"))
	if err != nil {
		t.Fatalf("Decide: %v", err)
	}
	if d.Route != "chat" || d.DecidedBy != router.ByDefault || d.Chain != chatChain || d.Match != nil {
		t.Errorf("Decide = %+v, want the default route, unclassified", d)
	}
	if d.Fallback == "" {
		t.Error("Fallback is empty, want a reason")
	}
}

func TestDecideErrors(t *testing.T) {
	t.Run("unknown model", func(t *testing.T) {
		r := newRouter(t, &stubClassifier{match: scores(true)})
		_, err := r.Decide(t.Context(), request("gpt-9"))
		if !errors.Is(err, router.ErrNoRoute) {
			t.Fatalf("Decide = %v, want ErrNoRoute", err)
		}
		if !strings.Contains(err.Error(), `"gpt-9"`) {
			t.Errorf("error %q does not name the model", err)
		}
	})
	t.Run("model names are case sensitive", func(t *testing.T) {
		r := newRouter(t, nil)
		if _, err := r.Decide(t.Context(), request("CODE")); !errors.Is(err, router.ErrNoRoute) {
			t.Fatalf("Decide(CODE) = %v, want ErrNoRoute", err)
		}
	})
	t.Run("auto with no routes configured", func(t *testing.T) {
		r, err := router.New(nil, router.Options{Models: map[string]*providers.Chain{"m": modelChain}})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		if _, err := r.Decide(t.Context(), request("auto")); !errors.Is(err, router.ErrNoRoute) {
			t.Fatalf("Decide(auto) = %v, want ErrNoRoute", err)
		}
		d, err := r.Decide(t.Context(), request("m"))
		if err != nil || d.Chain != modelChain || d.DecidedBy != router.ByExplicit {
			t.Fatalf("Decide(m) = %+v, %v; want the model's chain", d, err)
		}
	})
	t.Run("context cancelled during classify", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		cls := &stubClassifier{during: cancel, err: context.Canceled}
		r := newRouter(t, cls)
		_, err := r.Decide(ctx, request("auto"))
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Decide = %v, want context.Canceled", err)
		}
	})
	t.Run("context deadline during classify", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 0)
		defer cancel()
		<-ctx.Done()
		cls := &stubClassifier{err: errors.New("embed: " + ctx.Err().Error())}
		r := newRouter(t, cls)
		_, err := r.Decide(ctx, request("auto"))
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Decide = %v, want context.DeadlineExceeded", err)
		}
	})
}

func TestNew(t *testing.T) {
	c := &providers.Chain{}
	tests := []struct {
		name    string
		opts    router.Options
		wantErr string // substring; "" = no error
	}{
		{"no routes", router.Options{}, ""},
		{"default route", router.Options{Routes: []router.Route{{Name: "a", Chain: c}, {Name: "b", Chain: c}}, DefaultRoute: "b"}, ""},
		{"duplicate route", router.Options{Routes: []router.Route{{Name: "a", Chain: c}, {Name: "a", Chain: c}}, DefaultRoute: "a"}, `duplicate route "a"`},
		{"default not a route", router.Options{Routes: []router.Route{{Name: "a", Chain: c}}, DefaultRoute: "b"}, `default route "b" is not a route`},
		{"default missing", router.Options{Routes: []router.Route{{Name: "a", Chain: c}}}, `default route "" is not a route`},
		{"default without routes", router.Options{DefaultRoute: "chat"}, `default route "chat" is not a route`},
		{"route without chain", router.Options{Routes: []router.Route{{Name: "a"}}, DefaultRoute: "a"}, `route "a" has no chain`},
		{"model without chain", router.Options{Models: map[string]*providers.Chain{"m": nil}}, `model "m" has no chain`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := router.New(nil, tt.opts)
			if tt.wantErr == "" {
				if err != nil || r == nil {
					t.Fatalf("New = %v, %v; want a router", r, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestRoutesAndModels(t *testing.T) {
	r, err := router.New(nil, router.Options{
		Routes:       []router.Route{{Name: "b", Chain: &providers.Chain{}}, {Name: "a", Chain: &providers.Chain{}}, {Name: "c", Chain: &providers.Chain{}}},
		DefaultRoute: "a",
		Models:       map[string]*providers.Chain{"x": {}, "y": {}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(r.Routes(), ","); got != "b,a,c" {
		t.Errorf("Routes = %s, want config order b,a,c", got)
	}
	routes := r.Routes()
	routes[0] = "mutated"
	if r.Routes()[0] != "b" {
		t.Error("Routes returned the router's own slice")
	}
	if got := len(r.Models()); got != 2 {
		t.Errorf("Models = %v, want 2 names", r.Models())
	}
}

func TestIsAuto(t *testing.T) {
	for model, want := range map[string]bool{"": true, "auto": true, "AUTO": true, "Auto": true, "auto ": false, "gpt-4o": false, "autopilot": false} {
		if got := router.IsAuto(model); got != want {
			t.Errorf("IsAuto(%q) = %v, want %v", model, got, want)
		}
	}
}

func TestRoutedText(t *testing.T) {
	text := func(role, s string) providers.Message {
		return providers.Message{Role: role, Parts: []providers.Part{{Type: "text", Text: s}}}
	}
	conversation := []providers.Message{
		text("system", "you are terse"),
		text("user", "first question"),
		text("assistant", "first answer"),
		text("user", "second question"),
		text("tool", "tool output"),
		text("assistant", "second answer"),
		text("user", "third question"),
	}
	tests := []struct {
		name     string
		msgs     []providers.Message
		turns    int
		maxChars int
		want     string
	}{
		{"last user turn by default", conversation, 1, 0, "third question"},
		{"two turns oldest first", conversation, 2, 0, "second question\nthird question"},
		{"more turns than there are", conversation, 10, 0, "first question\nsecond question\nthird question"},
		{"assistant last is skipped", append(conversation[:4:4], text("assistant", "answer")), 1, 0, "second question"},
		{"system only", conversation[:1], 1, 0, ""},
		{"no messages", nil, 1, 0, ""},
		{"whitespace-only user turn is skipped", []providers.Message{text("user", "real"), text("user", "  \n\t")}, 1, 0, "real"},
		{"text trimmed", []providers.Message{text("user", "  padded \n")}, 1, 0, "padded"},
		{
			"content array: text parts joined, images ignored",
			[]providers.Message{{Role: "user", Parts: []providers.Part{
				{Type: "text", Text: "what is"},
				{Type: "image_url", URL: "https://example.com/cat.png"},
				{Type: "text", Text: "in this picture"},
			}}},
			1, 0, "what is\nin this picture",
		},
		{
			"image-only turn does not count as a turn",
			[]providers.Message{text("user", "earlier"), {Role: "user", Parts: []providers.Part{{Type: "image_url", URL: "x"}}}},
			1, 0, "earlier",
		},
		{"empty text", []providers.Message{text("user", "")}, 1, 0, ""},
		{"maxChars cuts", []providers.Message{text("user", "abcdefgh")}, 1, 5, "abcde"},
		{"maxChars at length keeps all", []providers.Message{text("user", "abcde")}, 1, 5, "abcde"},
		{"maxChars 0 keeps all", []providers.Message{text("user", strings.Repeat("x", 5000))}, 1, 0, strings.Repeat("x", 5000)},
		// "héllo": h(1) é(2) l l o; 2 bytes would split é, so the cut backs off to 1.
		{"maxChars inside a 2-byte rune", []providers.Message{text("user", "héllo")}, 1, 2, "h"},
		{"maxChars after a 2-byte rune", []providers.Message{text("user", "héllo")}, 1, 3, "hé"},
		// 日本語: three 3-byte runes.
		{"maxChars inside a 3-byte rune", []providers.Message{text("user", "日本語")}, 1, 5, "日"},
		{"maxChars on a 3-byte boundary", []providers.Message{text("user", "日本語")}, 1, 6, "日本"},
		{"maxChars smaller than the first rune", []providers.Message{text("user", "日本語")}, 1, 2, ""},
		// 🙂 is 4 bytes.
		{"maxChars inside a 4-byte rune", []providers.Message{text("user", "a🙂b")}, 1, 4, "a"},
		{"maxChars across joined turns", []providers.Message{text("user", "ab"), text("user", "cd")}, 2, 4, "ab\nc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := router.RoutedText(tt.msgs, tt.turns, tt.maxChars)
			if got != tt.want {
				t.Errorf("RoutedText = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestDecideRoutesOnTurns checks that Options.Turns and MaxChars reach the
// classifier.
func TestDecideRoutesOnTurns(t *testing.T) {
	cls := &stubClassifier{match: scores(true)}
	r, err := router.New(cls, router.Options{
		Routes:       []router.Route{{Name: "chat", Chain: chatChain}, {Name: "code", Chain: codeChain}},
		DefaultRoute: "chat",
		Turns:        2,
		MaxChars:     9,
	})
	if err != nil {
		t.Fatal(err)
	}
	d, err := r.Decide(t.Context(), request("auto", userText("one"), userText("two"), userText("three")))
	if err != nil {
		t.Fatal(err)
	}
	if want := "two\nthree"; d.Text != want || len(cls.texts) != 1 || cls.texts[0] != want {
		t.Errorf("Text = %q, classified %q; want %q", d.Text, cls.texts, want)
	}
}

func TestMarginRefusesCloseCalls(t *testing.T) {
	m := classifier.Match{Route: "code", Score: 0.62, Cleared: true, Margin: 0.04, Scores: []classifier.Score{
		{Route: "code", Score: 0.62, Threshold: 0.4}, {Route: "chat", Score: 0.58, Threshold: 0.4},
	}}
	for _, tt := range []struct {
		margin    float64
		wantRoute string
		wantBy    string
	}{
		{0, "code", router.ByEmbedding},    // rule off
		{0.03, "code", router.ByEmbedding}, // lead 0.04 ≥ 0.03
		{0.05, "chat", router.ByDefault},   // lead 0.04 < 0.05: refused
	} {
		r, err := router.New(&stubClassifier{match: m}, router.Options{
			Routes:       []router.Route{{Name: "chat", Chain: chatChain}, {Name: "code", Chain: codeChain}},
			DefaultRoute: "chat",
			Margin:       tt.margin,
		})
		if err != nil {
			t.Fatal(err)
		}
		d, err := r.Decide(t.Context(), request("auto"))
		if err != nil {
			t.Fatal(err)
		}
		if d.Route != tt.wantRoute || d.DecidedBy != tt.wantBy {
			t.Errorf("margin %.2f: route %q by %s, want %q by %s", tt.margin, d.Route, d.DecidedBy, tt.wantRoute, tt.wantBy)
		}
		if tt.wantBy == router.ByDefault && !strings.Contains(d.Fallback, "under the margin") {
			t.Errorf("margin %.2f: fallback %q does not explain the margin", tt.margin, d.Fallback)
		}
	}
}
