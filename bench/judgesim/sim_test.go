package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const corpus = `{"text": "write a haiku about rain", "label": "creative"}
{"text": "what is 2+2", "label": "math"}
{"text": "book me a flight", "label": "oos"}
{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}, {"role": "user", "content": "now integrate x^2"}], "label": "math"}
`

// judgeBody is a request in router/judge's shape: the text between <<< and
// >>>, the candidates as the enum of choose_route.
func judgeBody(text string, tools bool) string {
	user := "Routes:\n- math: maths\n- creative: poems\n- none: none of the routes above fits\n\nMessage:\n<<<\n" + text + "\n>>>\n\nWhich route?"
	req := map[string]any{
		"model":    "sim",
		"messages": []map[string]string{{"role": "system", "content": "You are the router."}, {"role": "user", "content": user}},
	}
	if tools {
		req["tools"] = []any{map[string]any{"type": "function", "function": map[string]any{
			"name": "choose_route",
			"parameters": map[string]any{"type": "object", "properties": map[string]any{
				"route": map[string]any{"type": "string", "enum": []string{"math", "creative", "none"}}}},
		}}}
	}
	b, _ := json.Marshal(req)
	return string(b)
}

func ask(t *testing.T, srv *httptest.Server, body string) (route string, viaTool bool) {
	t.Helper()
	resp, err := srv.Client().Post(srv.URL+"/v1/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	var out struct {
		Choices []struct {
			Message struct {
				Content   *string `json:"content"`
				ToolCalls []struct {
					Function struct{ Name, Arguments string } `json:"function"`
				} `json:"tool_calls"`
			} `json:"message"`
		} `json:"choices"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	m := out.Choices[0].Message
	args := ""
	if len(m.ToolCalls) > 0 {
		if m.ToolCalls[0].Function.Name != "choose_route" {
			t.Fatalf("tool %q", m.ToolCalls[0].Function.Name)
		}
		args, viaTool = m.ToolCalls[0].Function.Arguments, true
	} else if m.Content != nil {
		args = *m.Content
	}
	var v struct{ Route string }
	if err := json.Unmarshal([]byte(args), &v); err != nil {
		t.Fatalf("answer %q: %v", args, err)
	}
	return v.Route, viaTool
}

func TestSimAnswersGold(t *testing.T) {
	ex, err := ReadCorpus(strings.NewReader(corpus))
	if err != nil {
		t.Fatal(err)
	}
	sim := New(ex, Options{Accuracy: 1, Seed: 1})
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()

	for _, tt := range []struct {
		text, want string
		tools      bool
	}{
		{"write a haiku about rain", "creative", true},
		{"what is 2+2", "math", false},
		{"book me a flight", "none", true},
		{"now integrate x^2", "math", true},
	} {
		got, viaTool := ask(t, srv, judgeBody(tt.text, tt.tools))
		if got != tt.want || viaTool != tt.tools {
			t.Errorf("%q: got %q (tool %v), want %q (tool %v)", tt.text, got, viaTool, tt.want, tt.tools)
		}
	}
	got, _ := ask(t, srv, judgeBody("something never seen", true))
	if got != "math" && got != "creative" && got != "none" {
		t.Errorf("unknown text: answer %q is no candidate", got)
	}
	st := sim.Stats()
	if st.Requests != 5 || st.Known != 4 || st.Gold != 4 || st.Unknown != 1 || st.PlainText != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestSimAccuracyIsSeededPerText(t *testing.T) {
	var lines []string
	for i := range 1000 {
		b, _ := json.Marshal(map[string]string{"text": strings.Repeat("x", i+1), "label": "math"})
		lines = append(lines, string(b))
	}
	ex, _ := ReadCorpus(strings.NewReader(strings.Join(lines, "\n")))
	sim := New(ex, Options{Accuracy: 0.9, Seed: 7})
	gold := 0
	for i := range 1000 {
		text := strings.Repeat("x", i+1)
		a, _, _ := sim.answer(text, "math", true, []string{"math", "creative"}, true)
		b, _, _ := sim.answer(text, "math", true, []string{"math", "creative"}, true)
		if a != b {
			t.Fatalf("answers differ for the same text: %q, %q", a, b)
		}
		if a == "math" {
			gold++
		}
	}
	if gold < 870 || gold > 930 {
		t.Errorf("%d of 1000 gold answers at accuracy 0.9", gold)
	}
}
