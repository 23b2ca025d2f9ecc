package expand

import (
	"context"
	"encoding/json"
	"errors"
	"hash/fnv"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"unicode"

	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/providers/openai"
	"github.com/switchyard-router/switchyard/providers/providertest"
)

// bagOfWords embeds a text as its hashed word counts: texts with the same
// words get the same vector (cosine 1), texts with no word in common are
// orthogonal. It counts the texts it embeds.
func bagOfWords(calls *atomic.Int64) EmbedFunc {
	return func(_ context.Context, texts []string) ([][]float32, error) {
		calls.Add(int64(len(texts)))
		out := make([][]float32, len(texts))
		for i, t := range texts {
			v := make([]float32, 512)
			for _, w := range strings.FieldsFunc(strings.ToLower(t), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
				h := fnv.New32a()
				h.Write([]byte(w))
				v[h.Sum32()%512]++
			}
			out[i] = v
		}
		return out, nil
	}
}

// reply renders a model's JSON answer as a fake upstream script.
func reply(t *testing.T, requests, near []string) providertest.Script {
	t.Helper()
	m := map[string][]string{}
	if requests != nil {
		m["requests"] = requests
	}
	if near != nil {
		m["near_misses"] = near
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return providertest.Script{Text: "Sure! Here is the JSON:\n```json\n" + string(b) + "\n```"}
}

// sent decodes a chat request the fake upstream received.
type sent struct {
	Model       string  `json:"model"`
	MaxTokens   int     `json:"max_tokens"`
	Temperature float64 `json:"temperature"`
	Stream      bool    `json:"stream"`
	Messages    []struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	} `json:"messages"`
}

func decodeSent(t *testing.T, body []byte) sent {
	t.Helper()
	var s sent
	if err := json.Unmarshal(body, &s); err != nil {
		t.Fatalf("request body %s: %v", body, err)
	}
	return s
}

var codeRoute = Route{
	Name:      "code",
	Condition: "programming, code examples, debugging",
	Examples:  []string{"fix this stack trace"},
	Others:    []string{"creative writing, stories, poems", "translate text"},
}

func TestExpandEndToEnd(t *testing.T) {
	requests := []string{
		"Certainly! Here are the requests.",     // not a request
		"how do I reverse a list in python",     // kept (or thinned)
		"reverse a list in python, how do I?",   // near duplicate of the one before
		"Fix this stack trace.",                 // already in the config
		"programming, code examples, debugging", // the condition
		"why does my goroutine leak memory",
		"what is a segfault in C",
		"my rust build fails with a linker error",
		"make this SQL query faster please",
		"creative writing: stories and poems please", // nearer another route's condition
	}
	near := []string{
		"write a poem about the sea",
		"debugging code examples for a programming class", // nearer to the condition than the median request
	}
	up := providertest.OpenAI(t, reply(t, requests, near))
	p := openai.New("local", up.URL, "", up.Client())
	var embedded atomic.Int64
	opts := Options{N: 3, NearMisses: 1, Seed: 7}

	res, err := Expand(t.Context(), p, "tiny-model", codeRoute, bagOfWords(&embedded), opts)
	if err != nil {
		t.Fatal(err)
	}

	// The request: one non-streamed chat call naming the model, the
	// condition, what is asked for and what the route has.
	if up.Requests() != 1 || res.Calls != 1 {
		t.Fatalf("%d upstream requests, %d calls; want 1", up.Requests(), res.Calls)
	}
	s := decodeSent(t, up.LastBody())
	if s.Model != "tiny-model" || s.Stream || s.MaxTokens != 40*(6+4)+256 || s.Temperature != 0.9 {
		t.Errorf("request model %q stream %v max_tokens %d temperature %v", s.Model, s.Stream, s.MaxTokens, s.Temperature)
	}
	if len(s.Messages) != 2 || s.Messages[0].Role != "system" || s.Messages[1].Role != "user" {
		t.Fatalf("messages %+v", s.Messages)
	}
	user := s.Messages[1].Content
	for _, want := range []string{
		`Route "code": programming, code examples, debugging`,
		"It covers: programming; code examples; debugging.",
		"Write 6 different messages", // twice N
		"Write 4 near misses",        // twice NearMisses, at least 4
		"- creative writing, stories, poems",
		"- fix this stack trace",
		`{"requests": [`,
	} {
		if !strings.Contains(user, want) {
			t.Errorf("prompt lacks %q:\n%s", want, user)
		}
	}

	// The result.
	candidates := []string{
		"how do I reverse a list in python", "why does my goroutine leak memory", "what is a segfault in C",
		"my rust build fails with a linker error", "make this SQL query faster please",
	}
	if len(res.Requests) != 3 {
		t.Fatalf("requests %q, want 3", res.Requests)
	}
	for _, r := range res.Requests {
		if !slices.Contains(candidates, r) {
			t.Errorf("request %q should have been dropped", r)
		}
	}
	if want := []string{"write a poem about the sea"}; !slices.Equal(res.NearMisses, want) {
		t.Errorf("near misses %q, want %q", res.NearMisses, want)
	}
	wantDropped := map[string]int{
		dropNotRequest: 1, dropNearDuplicate: 1, dropExisting: 1, dropCondition: 1, dropTooClose: 1, dropThinned: 2, dropOtherRoute: 1,
	}
	if !maps.Equal(res.Dropped, wantDropped) {
		t.Errorf("dropped %v, want %v", res.Dropped, wantDropped)
	}
	// The condition and the example, the 2 other routes' conditions, then
	// the 9 items past the text filters (7 requests, 2 near misses).
	if n := embedded.Load(); n != 2+2+9 {
		t.Errorf("embedded %d texts, want 13", n)
	}

	// The same replies and seed keep the same items.
	again, err := Expand(t.Context(), p, "tiny-model", codeRoute, bagOfWords(&embedded), opts)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(again.Requests, res.Requests) || !slices.Equal(again.NearMisses, res.NearMisses) {
		t.Errorf("second run kept %q / %q, first %q / %q", again.Requests, again.NearMisses, res.Requests, res.NearMisses)
	}
}

func TestExpandAsksAgainWhenTooFewSurvive(t *testing.T) {
	up := providertest.OpenAI(t,
		reply(t, []string{"Sure! Here you go", "how do I read a file in go", "go"}, nil),
		reply(t, []string{"How do I read a file in Go?", "what is a goroutine exactly", "explain channels in go", "how to write table tests in go"}, nil),
		reply(t, []string{"never asked for"}, nil),
	)
	p := openai.New("local", up.URL, "", up.Client())
	var embedded atomic.Int64
	res, err := Expand(t.Context(), p, "m", Route{Name: "go", Condition: "the Go programming language"}, bagOfWords(&embedded), Options{N: 3, NearMisses: -1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Calls != 2 || up.Requests() != 2 {
		t.Fatalf("%d calls, %d upstream requests; want 2", res.Calls, up.Requests())
	}
	second := decodeSent(t, up.Bodies()[1]).Messages[1].Content
	for _, want := range []string{"Write 4 different messages", "Already written (do not repeat these):\n- how do I read a file in go\n"} {
		if !strings.Contains(second, want) {
			t.Errorf("second prompt lacks %q:\n%s", want, second)
		}
	}
	if strings.Contains(second, "near miss") || strings.Contains(second, "near_misses") {
		t.Errorf("near misses asked for with NearMisses < 0:\n%s", second)
	}
	if len(res.Requests) != 3 || len(res.NearMisses) != 0 {
		t.Errorf("kept %q and %q, want 3 requests and no near misses", res.Requests, res.NearMisses)
	}
	if res.Requests[0] != "how do I read a file in go" {
		t.Errorf("requests %q: the first call's request should be kept", res.Requests)
	}
	want := map[string]int{dropNotRequest: 1, dropShort: 1, dropDuplicate: 1, dropThinned: 1}
	if !maps.Equal(res.Dropped, want) {
		t.Errorf("dropped %v, want %v", res.Dropped, want)
	}
}

func TestExpandStopsAfterCalls(t *testing.T) {
	up := providertest.OpenAI(t, providertest.Script{Text: "I'm sorry, I can't help with that."})
	p := openai.New("local", up.URL, "", up.Client())
	var embedded atomic.Int64
	res, err := Expand(t.Context(), p, "m", codeRoute, bagOfWords(&embedded), Options{N: 5, Calls: 2})
	if err != nil {
		t.Fatal(err)
	}
	if res.Calls != 2 || up.Requests() != 2 || len(res.Requests) != 0 || len(res.NearMisses) != 0 {
		t.Fatalf("calls %d, upstream %d, kept %q %q", res.Calls, up.Requests(), res.Requests, res.NearMisses)
	}
	if res.Dropped[dropNotRequest] != 2 {
		t.Errorf("dropped %v", res.Dropped)
	}
}

func TestExpandErrors(t *testing.T) {
	var embedded atomic.Int64
	ok := bagOfWords(&embedded)

	up := providertest.OpenAI(t, providertest.Script{Status: 400})
	p := openai.New("local", up.URL, "", up.Client())
	_, err := Expand(t.Context(), p, "m", codeRoute, ok, Options{})
	var pe *providers.Error
	if !errors.As(err, &pe) || pe.Status != 400 || !strings.Contains(err.Error(), `route "code"`) {
		t.Errorf("upstream 400: err = %v", err)
	}

	good := providertest.OpenAI(t, reply(t, []string{"how do I reverse a list in python"}, nil))
	p = openai.New("local", good.URL, "", good.Client())
	broken := errors.New("embedder down")
	_, err = Expand(t.Context(), p, "m", codeRoute, func(context.Context, []string) ([][]float32, error) { return nil, broken }, Options{})
	if !errors.Is(err, broken) {
		t.Errorf("embedder failure: err = %v", err)
	}
	short := func(_ context.Context, texts []string) ([][]float32, error) {
		return make([][]float32, len(texts)-1), nil
	}
	if _, err = Expand(t.Context(), p, "m", codeRoute, short, Options{}); err == nil || !strings.Contains(err.Error(), "vectors for") {
		t.Errorf("embedder short of vectors: err = %v", err)
	}

	if _, err = Expand(t.Context(), p, "m", Route{Name: "x", Condition: "  "}, ok, Options{}); err == nil || !strings.Contains(err.Error(), "no condition") {
		t.Errorf("no condition: err = %v", err)
	}
}
