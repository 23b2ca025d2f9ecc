package router

import (
	"context"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/switchyard-router/switchyard/classifier"
	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/tracing"
)

// DefaultTurnDecay is the weight ratio between a user turn and the one
// after it that config's routing.turn_decay defaults to.
const DefaultTurnDecay = 0.5

// TurnClassifier is the optional capability of a Classifier to classify a
// conversation from its turns embedded one by one and combined with
// weights (see classifier.Classifier.ClassifyTurns). A Classifier without it
// is given the turns joined as one text.
type TurnClassifier interface {
	ClassifyTurns(ctx context.Context, texts []string, weights []float64) (classifier.Match, error)
}

// UserTurns returns the text of the last turns user turns that have any
// (images and other parts ignored), oldest first, each cut to maxChars at a
// rune boundary (0 is no cut).
func UserTurns(msgs []providers.Message, turns, maxChars int) []string {
	var picked []string
	for i := len(msgs) - 1; i >= 0 && len(picked) < turns; i-- {
		if msgs[i].Role != "user" {
			continue
		}
		if t := strings.TrimSpace(msgs[i].Text()); t != "" {
			picked = append(picked, cut(t, maxChars))
		}
	}
	for i, j := 0, len(picked)-1; i < j; i, j = i+1, j-1 {
		picked[i], picked[j] = picked[j], picked[i]
	}
	return picked
}

// TurnWeights returns the weights of n turns, oldest first: 1 for the last,
// decay for the one before, decay² before that, and so on.
func TurnWeights(n int, decay float64) []float64 {
	w := make([]float64, n)
	for i := range w {
		w[i] = math.Pow(decay, float64(n-1-i))
	}
	return w
}

func cut(text string, maxChars int) string {
	if maxChars <= 0 || len(text) <= maxChars {
		return text
	}
	i := maxChars
	for i > 0 && !utf8.RuneStart(text[i]) {
		i--
	}
	return text[:i]
}

// routed returns the text a request is routed on (what Decision.Text
// shows) and, when its turns are to be embedded one by one, those turns.
// One turn, a TurnDecay of 0 or a classifier without ClassifyTurns route
// on the joined text, as before multi-turn routing existed, so the common
// single-turn case keeps its one cached embedding.
func (r *Router) routed(msgs []providers.Message) (string, []string) {
	_, many := r.cls.(TurnClassifier)
	if r.turns <= 1 || r.decay <= 0 || !many {
		return RoutedText(msgs, r.turns, r.maxChars), nil
	}
	turns := UserTurns(msgs, r.turns, r.maxChars)
	if len(turns) <= 1 {
		return strings.Join(turns, ""), nil
	}
	return strings.Join(turns, "\n"), turns
}

// classify classifies text, or turns when routed returned any.
func (r *Router) classify(ctx context.Context, text string, turns []string) (m classifier.Match, err error) {
	ctx, span := tracing.Start(ctx, "classify")
	defer func() {
		if err == nil && span.IsRecording() {
			span.SetAttributes(tracing.Route.String(m.Route), tracing.Score.Float64(m.Score))
		}
		tracing.End(span, err)
	}()
	if len(turns) > 1 {
		return r.cls.(TurnClassifier).ClassifyTurns(ctx, turns, TurnWeights(len(turns), r.decay))
	}
	return r.cls.Classify(ctx, text)
}
