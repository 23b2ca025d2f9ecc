package router_test

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"sync"
	"testing"

	"github.com/switchyard-router/switchyard/classifier"
	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/router"
)

// vectors serves fixed vectors and fails on unknown text, recording each
// batch it is asked for.
type vectors struct {
	vecs map[string][]float32

	mu      sync.Mutex
	batches [][]string
}

func (v *vectors) embed(_ context.Context, texts []string) ([][]float32, error) {
	v.mu.Lock()
	v.batches = append(v.batches, append([]string(nil), texts...))
	v.mu.Unlock()
	out := make([][]float32, len(texts))
	for i, t := range texts {
		vec, ok := v.vecs[t]
		if !ok {
			return nil, fmt.Errorf("vectors: no vector for %q", t)
		}
		out[i] = vec
	}
	return out, nil
}

// axes is a 3-route world: code along x, creative along y, math along z.
func axes(extra map[string][]float32) *vectors {
	v := &vectors{vecs: map[string][]float32{
		"programming": {1, 0, 0},
		"poems":       {0, 1, 0},
		"equations":   {0, 0, 1},
	}}
	for k, x := range extra {
		v.vecs[k] = x
	}
	return v
}

var (
	creativeChain = &providers.Chain{}
	mathChain     = &providers.Chain{}
)

func axesRouter(t *testing.T, v *vectors, opts router.Options) *router.Router {
	t.Helper()
	cls, err := classifier.New(t.Context(), []classifier.Route{
		{Name: "code", Condition: "programming", Threshold: 0.5},
		{Name: "creative", Condition: "poems", Threshold: 0.5},
		{Name: "math", Condition: "equations", Threshold: 0.5},
	}, v.embed, classifier.Options{})
	if err != nil {
		t.Fatal(err)
	}
	v.batches = nil
	opts.Routes = []router.Route{
		{Name: "chat", Chain: chatChain}, {Name: "code", Chain: codeChain},
		{Name: "creative", Chain: creativeChain}, {Name: "math", Chain: mathChain},
	}
	opts.DefaultRoute = "chat"
	r, err := router.New(cls, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func assistantText(text string) providers.Message {
	return providers.Message{Role: "assistant", Parts: []providers.Part{{Type: "text", Text: text}}}
}

func TestTurnWeights(t *testing.T) {
	for _, tt := range []struct {
		n     int
		decay float64
		want  []float64
	}{
		{1, 0.5, []float64{1}},
		{3, 0.5, []float64{0.25, 0.5, 1}},
		{3, 1, []float64{1, 1, 1}},
		{2, 0.1, []float64{0.1, 1}},
	} {
		got := router.TurnWeights(tt.n, tt.decay)
		if len(got) != len(tt.want) {
			t.Fatalf("TurnWeights(%d, %v) = %v, want %v", tt.n, tt.decay, got, tt.want)
		}
		for i := range got {
			if math.Abs(got[i]-tt.want[i]) > 1e-12 {
				t.Errorf("TurnWeights(%d, %v) = %v, want %v", tt.n, tt.decay, got, tt.want)
			}
		}
	}
}

func TestUserTurns(t *testing.T) {
	msgs := []providers.Message{
		{Role: "system", Parts: []providers.Part{{Type: "text", Text: "be brief"}}},
		userText("first"),
		assistantText("answer"),
		userText("  "),
		userText("second"),
		{Role: "user", Parts: []providers.Part{{Type: "image_url", URL: "data:x"}}},
		userText("héllo"),
	}
	if got, want := router.UserTurns(msgs, 2, 0), []string{"second", "héllo"}; !reflect.DeepEqual(got, want) {
		t.Errorf("UserTurns(2) = %q, want %q", got, want)
	}
	if got, want := router.UserTurns(msgs, 5, 2), []string{"fi", "se", "h"}; !reflect.DeepEqual(got, want) {
		t.Errorf("UserTurns(5, maxChars 2) = %q, want %q (cut at a rune boundary)", got, want)
	}
}

// The last turns are embedded one by one in one batch, and the last weighs
// most: a short follow-up still counts, but so does the turn it follows.
func TestDecideCombinesTurns(t *testing.T) {
	conv := []providers.Message{
		userText("about poems"),
		assistantText("a poem"),
		userText("about code"),
		assistantText("some code"),
		userText("follow-up"),
	}
	v := axes(map[string][]float32{
		"about poems": {0, 1, 0},
		"about code":  {1, 0, 0},
		"follow-up":   {0.2, 0.2, 0.3}, // leans math on its own
	})
	for _, tt := range []struct {
		name  string
		turns int
		decay float64
		route string
	}{
		{"one turn", 1, 0.5, "math"},
		{"two turns, decay 0.5", 2, 0.5, "code"},
		{"three turns, decay 1", 3, 1, "code"},
		{"three turns, decay 0.1", 3, 0.1, "math"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := axesRouter(t, v, router.Options{Turns: tt.turns, TurnDecay: tt.decay})
			d, err := r.Decide(t.Context(), request("auto", conv...))
			if err != nil {
				t.Fatal(err)
			}
			if d.Route != tt.route {
				t.Errorf("route %s, want %s (scores %+v)", d.Route, tt.route, d.Match.Scores)
			}
			want := router.UserTurns(conv, tt.turns, 0)
			if !reflect.DeepEqual(v.batches, [][]string{want}) {
				t.Errorf("embedded %q, want one batch %q", v.batches, want)
			}
		})
	}
}

// A TurnDecay of 0, or a classifier without ClassifyTurns, routes on the
// turns joined as one text, as before.
func TestDecideJoinsTurnsWithoutDecay(t *testing.T) {
	conv := []providers.Message{userText("one"), assistantText("x"), userText("two")}
	stub := &stubClassifier{match: scores(true)}
	for _, opts := range []router.Options{{Turns: 2}, {Turns: 2, TurnDecay: 0.5}} {
		stub.texts = nil
		opts.Routes = []router.Route{{Name: "chat", Chain: chatChain}, {Name: "code", Chain: codeChain}}
		opts.DefaultRoute = "chat"
		r, err := router.New(stub, opts)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Decide(t.Context(), request("auto", conv...)); err != nil {
			t.Fatal(err)
		}
		if want := []string{"one\ntwo"}; !reflect.DeepEqual(stub.texts, want) {
			t.Errorf("%+v: classified %q, want %q", opts, stub.texts, want)
		}
	}

	v := axes(map[string][]float32{"one\ntwo": {1, 0, 0}})
	r := axesRouter(t, v, router.Options{Turns: 2})
	d, err := r.Decide(t.Context(), request("auto", conv...))
	if err != nil {
		t.Fatal(err)
	}
	if d.Text != "one\ntwo" || !reflect.DeepEqual(v.batches, [][]string{{"one\ntwo"}}) {
		t.Errorf("decay 0: text %q, batches %q; want the joined text", d.Text, v.batches)
	}
}
