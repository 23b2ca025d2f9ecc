package eval

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/switchyard-router/switchyard/classifier"
	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/router"
)

// BuildFunc makes a router around cls with the configuration under test;
// Run calls it more than once, with different classifiers.
type BuildFunc func(cls router.Classifier) (*router.Router, error)

// errTextOnly makes a router give up on classifying, so its decision
// reports the text it would have routed on and nothing else.
var errTextOnly = errors.New("eval: text only")

type textOnly struct{}

func (textOnly) Classify(context.Context, string) (classifier.Match, error) {
	return classifier.Match{}, errTextOnly
}

// RoutedTexts returns what the router built by build routes each example
// on, asking the router itself so turns, truncation and multimodal parts
// are handled exactly as in serving. An example with nothing to route on
// gets "".
func RoutedTexts(ctx context.Context, build BuildFunc, corpus []Example) ([]string, error) {
	r, err := build(textOnly{})
	if err != nil {
		return nil, err
	}
	texts := make([]string, len(corpus))
	for i, ex := range corpus {
		d, err := r.Decide(ctx, ex.Request())
		if err != nil {
			return nil, fmt.Errorf("eval: line %d: %w", ex.Line, err)
		}
		texts[i] = d.Text
	}
	return texts, nil
}

// Decide runs every example through a router whose classifier is cls with
// the vectors in vecs (see VectorClassifier), so the decisions are those
// the router would make live, at no embedding cost.
func Decide(ctx context.Context, build BuildFunc, cls *classifier.Classifier, vecs map[string][]float32, corpus []Example) ([]Outcome, error) {
	r, err := build(VectorClassifier{Classifier: cls, Vectors: vecs})
	if err != nil {
		return nil, err
	}
	out := make([]Outcome, len(corpus))
	for i, ex := range corpus {
		d, err := r.Decide(ctx, ex.Request())
		if err != nil {
			return nil, fmt.Errorf("eval: line %d: %w", ex.Line, err)
		}
		// The router absorbs classification errors into a fallback; here
		// one means a missing vector, which would skew every number.
		if d.DecidedBy == router.ByDefault && d.Match == nil && d.Text != "" {
			return nil, fmt.Errorf("eval: line %d: not classified: %s", ex.Line, d.Fallback)
		}
		out[i] = NewOutcome(ex, d)
	}
	return out, nil
}

// Timing is one timed decision.
type Timing struct {
	Took  time.Duration // the whole decision (Decision.Took)
	Judge time.Duration // the judge's part of it; 0 when it was not asked
}

// TimeDecisions makes up to n real decisions with r, one at a time, on
// examples spread evenly over the corpus, and returns how long each took
// (Decision.Took: routed-text extraction, embedding, classification and,
// when r has a judge that was asked, the judge's call, also reported
// apart). r should embed through no cache holding the corpus, or the
// times are those of cache hits. One untimed decision first warms the
// model up.
func TimeDecisions(ctx context.Context, r *router.Router, corpus []Example, n int) ([]Timing, error) {
	if n <= 0 || len(corpus) == 0 {
		return nil, nil
	}
	n = min(n, len(corpus))
	warm := Example{Messages: []providers.Message{userMessage("a warm-up request, not timed")}}
	if _, err := r.Decide(ctx, warm.Request()); err != nil {
		return nil, err
	}
	out := make([]Timing, 0, n)
	for i := range n {
		ex := corpus[i*len(corpus)/n]
		d, err := r.Decide(ctx, ex.Request())
		if err != nil {
			return nil, fmt.Errorf("eval: line %d: %w", ex.Line, err)
		}
		t := Timing{Took: d.Took}
		if d.Judge != nil {
			t.Judge = time.Duration(d.Judge.TookMS * float64(time.Millisecond))
		}
		out = append(out, t)
	}
	return out, nil
}
