package classifier_test

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/switchyard-router/switchyard/classifier"
)

func TestSegments(t *testing.T) {
	article := strings.Repeat("The committee met on Tuesday to review the annual budget and the hiring plan for the next year. ", 6)
	tests := []struct {
		name string
		text string
		want []string
	}{
		{"short single line", "Write a quicksort function", nil},
		{"short two lines", "hi\nthere", nil},
		{"one line with an introducing colon", "Summarize this article in 3 bullets: The city council voted on Tuesday to expand the bike lane network downtown, citing safety data; opponents argued it would hurt shops.",
			[]string{"Summarize this article in 3 bullets:"}},
		// The first sentence, then the text before the introducing colon.
		{"instruction before a colon and an article", "Summarize this article in three bullet points: " + article,
			[]string{"Summarize this article in three bullet points: The committee met on Tuesday to review the annual budget and the hiring plan for the next year.", "Summarize this article in three bullet points:"}},
		// The passage's first sentence, then the closing paragraph.
		{"closing instruction after a pasted passage", article + "\n\nSummarize the passage above.",
			[]string{"The committee met on Tuesday to review the annual budget and the hiring plan for the next year.", "Summarize the passage above."}},
		{"code fence", "Can you write the code for this function?\n```python\ndef f(x: int):\n    return x\n```",
			[]string{"Can you write the code for this function?"}},
		{"stack trace", "fix this:\nTypeError: Cannot read properties of undefined (reading 'map')\n    at ProductList (ProductList.jsx:14:22)\n    at renderWithHooks (react-dom.js:1:1)",
			[]string{"fix this:"}},
		{"a colon in code is not an introduction", "Why does this fail?\n```go\nm := map[string]int{}\nvar x map[string]int\nx[\"a\"] = 1\n```",
			[]string{"Why does this fail?"}},
		{"a time is not an introduction", "We meet at 10:30 tomorrow, " + article, []string{"We meet at 10:30 tomorrow, The committee met on Tuesday to review the annual budget and the hiring plan for the next year."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := classifier.Segments(tt.text)
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("Segments = %q, want %q", got, tt.want)
			}
		})
	}
}

func FuzzSegments(f *testing.F) {
	f.Add("Summarize this: " + strings.Repeat("word ", 80))
	f.Add("```\ncode\n```\nexplain")
	f.Add("a: b: c:\n\n> quoted\n    indented\n")
	f.Fuzz(func(t *testing.T, text string) {
		segs := classifier.Segments(text)
		if len(segs) > 3 {
			t.Fatalf("%d segments", len(segs))
		}
		whole := strings.TrimSpace(text)
		for _, s := range segs {
			if s == "" || len(s) > 300 || s == whole {
				t.Fatalf("bad segment %q of %q", s, text)
			}
		}
	})
}

// A pasted payload that matches another route is outweighed by the
// instruction segment, and the match says which segment decided.
func TestClassifySegments(t *testing.T) {
	ctx := context.Background()
	routes := []classifier.Route{
		{Name: "summarise", Examples: []string{"summarize this article in three bullet points"}},
		{Name: "sport", Examples: []string{"football match goal league season players coach stadium"}},
	}
	payload := strings.Repeat("The football match ended with a late goal as the league season closed and the players thanked the coach at the stadium. ", 4)
	text := "Summarize this article in three bullet points: " + payload
	for _, segments := range []bool{false, true} {
		c, err := classifier.New(ctx, routes, bagOfWords, classifier.Options{Segments: segments})
		if err != nil {
			t.Fatal(err)
		}
		m, err := c.Classify(ctx, text)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case !segments && m.Route != "sport":
			t.Errorf("without segments: %s, want the payload's route, sport (else this test proves nothing)", m.Route)
		case segments && (m.Route != "summarise" || m.Scores[0].Segment != "Summarize this article in three bullet points:" || len(m.Segments) != 2):
			t.Errorf("with segments: %+v", m)
		}
	}
}

// A request nearer to a route's negative than to its own utterances does
// not clear it.
func TestNegativesBlockARoute(t *testing.T) {
	ctx := context.Background()
	routes := []classifier.Route{{
		Name:      "code",
		Examples:  []string{"write a python function to sort a list"},
		Negatives: []string{"write a story about a python snake"},
		Threshold: 0.1,
	}}
	c, err := classifier.New(ctx, routes, bagOfWords, classifier.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := c.Classify(ctx, "write a story about a snake")
	if err != nil {
		t.Fatal(err)
	}
	if m.Cleared || m.Scores[0].NearMiss != "write a story about a python snake" || m.Score < 0.1 {
		t.Errorf("near miss: %+v", m)
	}
	m, err = c.Classify(ctx, "write a function to sort a list in python")
	if err != nil {
		t.Fatal(err)
	}
	if !m.Cleared || m.Scores[0].NearMiss != "" {
		t.Errorf("own request: %+v", m)
	}
	if _, err := classifier.New(ctx, []classifier.Route{{Name: "x", Examples: []string{"a"}, Negatives: []string{" "}}}, bagOfWords, classifier.Options{}); err == nil {
		t.Error("a blank negative was accepted")
	}
}

func TestWithThresholds(t *testing.T) {
	ctx := context.Background()
	c, err := classifier.New(ctx, []classifier.Route{{Name: "a", Examples: []string{"alpha beta"}, Threshold: 0.9}}, bagOfWords, classifier.Options{})
	if err != nil {
		t.Fatal(err)
	}
	d, err := c.WithThresholds(map[string]float64{"a": 0.1})
	if err != nil {
		t.Fatal(err)
	}
	m1, _ := c.Classify(ctx, "alpha gamma")
	m2, _ := d.Classify(ctx, "alpha gamma")
	if m1.Cleared || !m2.Cleared || m1.Score != m2.Score {
		t.Errorf("before %+v, after %+v", m1, m2)
	}
	if _, err := c.WithThresholds(map[string]float64{"a": math.NaN()}); err == nil {
		t.Error("NaN threshold accepted")
	}
}
