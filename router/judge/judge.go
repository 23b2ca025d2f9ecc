// Package judge asks an LLM which route a request belongs to: for the
// requests the embedding cannot decide on its own (no route cleared its
// threshold, or the best two are too close to call), or for every request
// when the router is told to (MAS's method). It owns the prompt,
// the constrained answer (a forced tool call whose one argument is an enum
// of the candidate names), the defensive parsing of what comes back, the
// per-call timeout and the cache of verdicts.
//
// The request is built in OpenAI's dialect (canonical Fields), which the
// OpenAI, Anthropic and Ollama adapters all translate, tools and
// tool_choice included; so a judge works with any provider kind.
package judge

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/switchyard-router/switchyard/providers"
)

// None is the answer that picks no candidate: the request then takes the
// default route.
const None = "none"

// ErrInvalidAnswer reports an answer that names no candidate (and is not
// None), or that cannot be read at all.
var ErrInvalidAnswer = errors.New("judge: invalid answer")

// Candidate is one route offered to the judge.
type Candidate struct {
	Name      string
	Condition string // the route's plain-language condition; may be empty
	// Tasks are the task types the condition was grounded in ("coding",
	// "code_explanation"), shown as the route's typical requests (the
	// first 6 of them); may be empty.
	Tasks []string
}

// maxTasks is how many of a candidate's Tasks the prompt shows, so that
// offering every route keeps the prompt short.
const maxTasks = 6

// Verdict is the judge's answer.
type Verdict struct {
	// Route is the candidate chosen, or "" when the judge answered None.
	Route string
	// Answer is what the judge answered, as read from its reply (the raw
	// reply, cut to 200 bytes, when it could not be read): set on
	// ErrInvalidAnswer too, for explanations.
	Answer string
	// Cached reports a verdict served from the cache, without a call.
	Cached bool
	// Took is the time Choose took, the call included.
	Took time.Duration
}

// Options tunes a Judge. Zero values are the documented defaults.
type Options struct {
	// Timeout bounds one judge call; on expiry Choose returns an error
	// wrapping context.DeadlineExceeded. 0 means 1.5s.
	Timeout time.Duration
	// MaxTokens is the answer's token budget (max_tokens). A tool call
	// costs more than a bare name: a forced Anthropic tool_use or an
	// OpenAI call with a long route name can need 30 or more. 0 means 64.
	MaxTokens int
	// CacheSize is how many verdicts an LRU keeps, keyed by the text and
	// the candidate set. 0 means 4096; negative disables the cache.
	CacheSize int
	// Shared, if set, keeps verdicts where every replica finds them
	// (package shared), for SharedTTL (0 means an hour), so that a text
	// judged on one replica is not judged again on another.
	Shared    SharedStore
	SharedTTL time.Duration
}

// SharedStore is a key-value store the replicas share, with expiry.
type SharedStore interface {
	Get(ctx context.Context, key string) (string, bool)
	Set(ctx context.Context, key, value string, ttl time.Duration)
}

// Stats counts a Judge's work since it was built.
type Stats struct {
	Calls     uint64  `json:"calls"`      // upstream calls made
	CacheHits uint64  `json:"cache_hits"` // verdicts served from the cache
	Errors    uint64  `json:"errors"`     // calls that failed, timed out or answered no candidate
	P50MS     float64 `json:"p50_ms"`     // median latency of the last calls, in milliseconds
	P99MS     float64 `json:"p99_ms"`     // 99th percentile of the same
}

// Judge chooses among candidate routes with an LLM. It is safe for
// concurrent use; its cache and counters are its only mutable state.
type Judge struct {
	p         providers.Provider
	model     string
	timeout   time.Duration
	maxTokens int
	cache     *lru.Cache[[32]byte, string] // nil when disabled
	shared    SharedStore                  // nil when not shared
	sharedTTL time.Duration

	calls, hits, errs atomic.Uint64
	mu                sync.Mutex
	lat               []time.Duration // ring of the last latencies
	next              int
}

// latencies is how many recent call latencies Stats reads percentiles from.
const latencies = 512

// New returns a Judge that asks model through p (a provider or a
// providers.Chain, which sets the model of each of its targets itself).
func New(p providers.Provider, model string, opts Options) *Judge {
	j := &Judge{p: p, model: model, timeout: opts.Timeout, maxTokens: opts.MaxTokens}
	if j.timeout <= 0 {
		j.timeout = 1500 * time.Millisecond
	}
	if j.maxTokens <= 0 {
		j.maxTokens = 64
	}
	size := opts.CacheSize
	if size == 0 {
		size = 4096
	}
	if size > 0 {
		j.cache, _ = lru.New[[32]byte, string](size) // errs only on size ≤ 0
	}
	if opts.Shared != nil && size > 0 { // a disabled cache is disabled everywhere
		j.shared, j.sharedTTL = opts.Shared, opts.SharedTTL
		if j.sharedTTL <= 0 {
			j.sharedTTL = time.Hour
		}
	}
	return j
}

// Choose asks which of candidates text belongs to. The call is bounded by
// the Judge's timeout and by ctx. A verdict is cached only when it is
// valid; errors (a failed call, a timeout, ErrInvalidAnswer) are not, so
// the next request asks again.
func (j *Judge) Choose(ctx context.Context, text string, candidates []Candidate) (Verdict, error) {
	start := time.Now()
	if len(candidates) == 0 {
		return Verdict{}, errors.New("judge: no candidates")
	}
	key := cacheKey(text, candidates)
	if j.cache != nil {
		if ans, ok := j.cache.Get(key); ok {
			j.hits.Add(1)
			return Verdict{Route: routeOf(ans), Answer: ans, Cached: true, Took: time.Since(start)}, nil
		}
	}
	if j.shared != nil {
		if ans, ok := j.shared.Get(ctx, "judge:"+hex.EncodeToString(key[:])); ok {
			j.hits.Add(1)
			if j.cache != nil {
				j.cache.Add(key, ans)
			}
			return Verdict{Route: routeOf(ans), Answer: ans, Cached: true, Took: time.Since(start)}, nil
		}
	}
	j.calls.Add(1)
	cctx, cancel := context.WithTimeout(ctx, j.timeout)
	defer cancel()
	resp, err := j.p.Complete(cctx, j.request(text, candidates))
	took := time.Since(start)
	j.observe(took)
	if err != nil {
		j.errs.Add(1)
		if cctx.Err() != nil && ctx.Err() == nil {
			return Verdict{Took: took}, fmt.Errorf("judge: no answer within %s: %w", j.timeout, context.DeadlineExceeded)
		}
		return Verdict{Took: took}, fmt.Errorf("judge: %w", err)
	}
	ans, err := Parse(resp.Message, candidates)
	if err != nil {
		j.errs.Add(1)
		return Verdict{Answer: ans, Took: took}, err
	}
	if j.cache != nil {
		j.cache.Add(key, ans)
	}
	if j.shared != nil {
		j.shared.Set(ctx, "judge:"+hex.EncodeToString(key[:]), ans, j.sharedTTL)
	}
	return Verdict{Route: routeOf(ans), Answer: ans, Took: took}, nil
}

func routeOf(answer string) string {
	if answer == None {
		return ""
	}
	return answer
}

// Stats reports the counters and latency percentiles.
func (j *Judge) Stats() Stats {
	st := Stats{Calls: j.calls.Load(), CacheHits: j.hits.Load(), Errors: j.errs.Load()}
	j.mu.Lock()
	lat := slices.Clone(j.lat)
	j.mu.Unlock()
	if len(lat) > 0 {
		slices.Sort(lat)
		pct := func(p float64) float64 {
			return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000
		}
		st.P50MS, st.P99MS = pct(0.5), pct(0.99)
	}
	return st
}

func (j *Judge) observe(d time.Duration) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.lat) < latencies {
		j.lat = append(j.lat, d)
		return
	}
	j.lat[j.next] = d
	j.next = (j.next + 1) % latencies
}

// cacheKey hashes the text and the candidate set, conditions and tasks
// included, so a reload that rewords a condition asks again. Lengths are
// hashed before each string, so no two different inputs share a byte
// stream.
func cacheKey(text string, candidates []Candidate) [32]byte {
	h := sha256.New()
	write := func(s string) {
		var n [8]byte
		binary.LittleEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	write(text)
	for _, c := range candidates {
		write(c.Name)
		write(c.Condition)
		write(strconv.Itoa(len(c.Tasks)))
		for _, t := range c.Tasks {
			write(t)
		}
	}
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// Tool is the name of the function the judge is made to call.
const Tool = "choose_route"

const system = `You are the router of an LLM gateway. Given a user's message and a list of routes, each with the kind of request it is for, choose the one route that should handle the message, or "none" when no route fits. Answer by calling ` + Tool + `; if you cannot call it, answer with only {"route": "<name>"}.`

// describe is a candidate's line in the prompt, e.g. "programming,
// debugging (typical requests: coding, code explanation)": the condition
// on one line, then its task types with underscores as spaces; the tasks
// alone when there is no condition.
func describe(c Candidate) string {
	cond := strings.Join(strings.Fields(c.Condition), " ")
	tasks := make([]string, 0, min(len(c.Tasks), maxTasks))
	for _, t := range c.Tasks {
		if len(tasks) == maxTasks {
			break
		}
		if t = strings.Join(strings.Fields(strings.ReplaceAll(t, "_", " ")), " "); t != "" {
			tasks = append(tasks, t)
		}
	}
	switch {
	case cond == "" && len(tasks) == 0:
		return "(no description)"
	case len(tasks) == 0:
		return cond
	case cond == "":
		return strings.Join(tasks, ", ")
	}
	return cond + " (typical requests: " + strings.Join(tasks, ", ") + ")"
}

// request builds the judge's chat request in OpenAI's dialect.
func (j *Judge) request(text string, candidates []Candidate) *providers.Request {
	var b strings.Builder
	b.WriteString("Routes:\n")
	names := make([]string, 0, len(candidates)+1)
	for _, c := range candidates {
		fmt.Fprintf(&b, "- %s: %s\n", c.Name, describe(c))
		names = append(names, c.Name)
	}
	fmt.Fprintf(&b, "- %s: none of the routes above fits\n\nMessage:\n<<<\n%s\n>>>\n\nWhich route?", None, text)
	names = append(names, None)

	msgs := []providers.Message{
		{Role: "system", Parts: []providers.Part{{Type: "text", Text: system}}},
		{Role: "user", Parts: []providers.Part{{Type: "text", Text: b.String()}}},
	}
	wire := []map[string]string{{"role": "system", "content": system}, {"role": "user", "content": b.String()}}
	tools := []map[string]any{{
		"type": "function",
		"function": map[string]any{
			"name":        Tool,
			"description": "Choose the route that should handle the user's message.",
			"parameters": map[string]any{
				"type":                 "object",
				"properties":           map[string]any{"route": map[string]any{"type": "string", "enum": names}},
				"required":             []string{"route"},
				"additionalProperties": false,
			},
		},
	}}
	return &providers.Request{
		Model:    j.model,
		Messages: msgs,
		Dialect:  providers.DialectOpenAI,
		Fields: map[string]json.RawMessage{
			"model":       mustJSON(j.model),
			"messages":    mustJSON(wire),
			"max_tokens":  mustJSON(j.maxTokens),
			"temperature": json.RawMessage("0"),
			"tools":       mustJSON(tools),
			"tool_choice": mustJSON(map[string]any{"type": "function", "function": map[string]string{"name": Tool}}),
		},
	}
}
