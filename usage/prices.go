package usage

import "strings"

// Price is what a model's tokens cost, in USD per million.
type Price struct {
	Input       float64 `json:"input" koanf:"input"`
	Output      float64 `json:"output" koanf:"output"`
	CachedInput float64 `json:"cached_input" koanf:"cached_input"`
}

// DefaultPrices are list prices published by OpenAI and Anthropic for
// common models, as of 2025 (USD per million tokens: input, output,
// cached input). They change: a config's prices replace them model by
// model, and a model with no price costs 0.
var DefaultPrices = map[string]Price{
	"gpt-4o":            {Input: 2.50, Output: 10.00, CachedInput: 1.25},
	"gpt-4o-mini":       {Input: 0.15, Output: 0.60, CachedInput: 0.075},
	"gpt-4.1":           {Input: 2.00, Output: 8.00, CachedInput: 0.50},
	"gpt-4.1-mini":      {Input: 0.40, Output: 1.60, CachedInput: 0.10},
	"o3-mini":           {Input: 1.10, Output: 4.40, CachedInput: 0.55},
	"claude-sonnet-4-5": {Input: 3.00, Output: 15.00, CachedInput: 0.30},
	"claude-haiku-4-5":  {Input: 1.00, Output: 5.00, CachedInput: 0.10},
	"claude-opus-4-1":   {Input: 15.00, Output: 75.00, CachedInput: 1.50},
}

// Prices maps a model to its price.
type Prices map[string]Price

// Cost is what r's tokens cost: cached prompt tokens at the cached price
// (the input price when the model has none), the rest of the prompt at
// the input price, the completion (reasoning included) at the output
// price. A model is looked up as named, then without a "provider/" prefix
// or a date suffix ("-2024-08-06").
func (p Prices) Cost(model string, prompt, completion, cached int) float64 {
	pr, ok := p.lookup(model)
	if !ok {
		return 0
	}
	cachedPrice := pr.CachedInput
	if cachedPrice == 0 {
		cachedPrice = pr.Input
	}
	cached = min(cached, prompt)
	return (float64(prompt-cached)*pr.Input + float64(cached)*cachedPrice + float64(completion)*pr.Output) / 1e6
}

func (p Prices) lookup(model string) (Price, bool) {
	if pr, ok := p[model]; ok {
		return pr, true
	}
	if _, m, ok := strings.Cut(model, "/"); ok {
		if pr, ok := p[m]; ok {
			return pr, true
		}
		model = m
	}
	// A dated snapshot: gpt-4o-2024-08-06, claude-sonnet-4-5-20250929.
	for i := len(model) - 1; i > 0; i-- {
		if model[i] == '-' {
			if pr, ok := p[model[:i]]; ok && isDate(model[i+1:]) {
				return pr, true
			}
		}
	}
	return Price{}, false
}

func isDate(s string) bool {
	digits := strings.Count(s, "-")
	for _, c := range s {
		if (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return len(s)-digits == 8
}
