package classifier_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/switchyard-router/switchyard/classifier"
)

func ExampleClassifier() {
	// A toy embedder: one dimension per topic word. A real one is
	// (*embed.Local).Embed.
	topics := []string{"code", "poem", "translate"}
	embed := func(_ context.Context, texts []string) ([][]float32, error) {
		out := make([][]float32, len(texts))
		for i, t := range texts {
			v := []float32{0.1, 0.1, 0.1}
			for d, w := range topics {
				if strings.Contains(t, w) {
					v[d] = 1
				}
			}
			out[i] = v // need not be unit length: scores are cosines
		}
		return out, nil
	}

	c, err := classifier.New(context.Background(), []classifier.Route{
		{Name: "coding", Condition: "code and debugging", Threshold: 0.8},
		{Name: "creative", Condition: "write a poem", Examples: []string{"a poem about rain"}, Threshold: 0.8},
		{Name: "translation", Condition: "translate text", Threshold: 0.8},
		{Name: "general"}, // no utterances: reachable only as a default
	}, embed, classifier.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("indexed:", c.Routes(), c.Utterances())

	m, err := c.Classify(context.Background(), "please translate this")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s score=%.2f cleared=%t margin=%.2f\n", m.Route, m.Score, m.Cleared, m.Margin)
	for _, s := range m.Scores {
		fmt.Printf("  %-11s %.2f nearest=%q\n", s.Route, s.Score, s.Nearest)
	}
	// Output:
	// indexed: [coding creative translation] 4
	// translation score=1.00 cleared=true margin=0.79
	//   translation 1.00 nearest="translate text"
	//   coding      0.21 nearest="code and debugging"
	//   creative    0.21 nearest="write a poem"
}
