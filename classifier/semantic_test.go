package classifier_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/switchyard-router/switchyard/classifier"
	"github.com/switchyard-router/switchyard/embed"
	"github.com/switchyard-router/switchyard/embed/modelstore"
	"github.com/switchyard-router/switchyard/embed/modeltest"
)

// TestSemanticRouting routes with the real in-process model, because whether
// "a sonnet about the sea" is creative writing is a question of meaning that
// no fake embedder answers. It fails, rather than skips, without the model.
func TestSemanticRouting(t *testing.T) {
	var fixture struct {
		Threshold float64
		Routes    []struct {
			Name      string
			Condition string
			Examples  []string
		}
		Cases []struct{ Text, Route string }
	}
	b, err := os.ReadFile(filepath.Join("..", "testdata", "classifier", "semantic.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &fixture); err != nil {
		t.Fatal(err)
	}
	routes := make([]classifier.Route, len(fixture.Routes))
	for i, r := range fixture.Routes {
		routes[i] = classifier.Route{Name: r.Name, Condition: r.Condition, Examples: r.Examples, Threshold: fixture.Threshold}
	}

	model, err := embed.NewLocal(t.Context(), modeltest.Dir(t), modelstore.MiniLM(), embed.LocalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { model.Close() })

	for _, opts := range []classifier.Options{{}, {Aggregation: "mean", TopK: 2}} {
		c, err := classifier.New(t.Context(), routes, model.Embed, opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range fixture.Cases {
			m, err := c.Classify(t.Context(), tc.Text)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%+v %q → %s %.3f (margin %.3f, nearest %q)", opts, tc.Text, m.Route, m.Score, m.Margin, m.Scores[0].Nearest)
			if m.Route != tc.Route {
				t.Errorf("%+v: %q went to %s (%.3f), want %s; scores %+v", opts, tc.Text, m.Route, m.Score, tc.Route, m.Scores)
				continue
			}
			if !m.Cleared {
				t.Errorf("%+v: %q scored %.3f, below the threshold %.2f", opts, tc.Text, m.Score, fixture.Threshold)
			}
			if m.Margin < 0.05 {
				t.Errorf("%+v: %q won by only %.3f", opts, tc.Text, m.Margin)
			}
		}
	}
}
