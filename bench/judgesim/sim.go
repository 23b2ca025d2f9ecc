package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// OOS is the corpus label of a text no route should take; the judge's
// answer for it is None.
const (
	OOS  = "oos"
	None = "none"
)

// Options tunes a Sim.
type Options struct {
	Accuracy float64       // probability of the gold answer when it can be given
	Latency  time.Duration // delay before every answer
	Jitter   time.Duration // uniform extra delay in [-Jitter, +Jitter]; 0 is none
	Seed     uint64        // seed of the per-text draws
	// NoneLabels are labels besides oos whose right answer is "none": the
	// default route's own label, when it has no condition and so is never
	// a candidate ("none" takes the default route).
	NoneLabels []string
}

// Example is one labelled corpus line, reduced to the texts a judge prompt
// may quote: the whole text, or the user turns of a conversation.
type Example struct {
	Label string
	Keys  []string
}

// ReadCorpus reads JSON Lines {"text"|"messages": ..., "label": L}. A
// conversation is keyed by its last user turn and by every run of its
// last user turns joined by newlines (what a router given several turns
// routes on), each trimmed.
func ReadCorpus(r io.Reader) ([]Example, error) {
	var out []Example
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for line := 1; sc.Scan(); line++ {
		raw := strings.TrimSpace(sc.Text())
		if raw == "" {
			continue
		}
		var row struct {
			Text     *string   `json:"text"`
			Messages []message `json:"messages"`
			Label    string    `json:"label"`
		}
		if err := json.Unmarshal([]byte(raw), &row); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if row.Label == "" {
			return nil, fmt.Errorf("line %d: no label", line)
		}
		ex := Example{Label: row.Label}
		if row.Text != nil {
			ex.Keys = append(ex.Keys, strings.TrimSpace(*row.Text))
		}
		var users []string
		for _, m := range row.Messages {
			if t := strings.TrimSpace(m.text()); m.Role == "user" && t != "" {
				users = append(users, t)
			}
		}
		for i := len(users) - 1; i >= 0; i-- {
			ex.Keys = append(ex.Keys, strings.Join(users[i:], "\n"))
		}
		out = append(out, ex)
	}
	return out, sc.Err()
}

// message is an OpenAI chat message; content is a string or a list of
// parts.
type message struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

func (m message) text() string {
	var s string
	if json.Unmarshal(m.Content, &s) == nil {
		return s
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if json.Unmarshal(m.Content, &parts) != nil {
		return ""
	}
	var b []string
	for _, p := range parts {
		if p.Type == "text" {
			b = append(b, p.Text)
		}
	}
	return strings.Join(b, "\n")
}

// Stats counts requests. Known requests quote a corpus text; Gold of them
// were answered with its gold label.
type Stats struct {
	Requests  int64 `json:"requests"`
	Known     int64 `json:"known"`
	Gold      int64 `json:"gold"`
	Unknown   int64 `json:"unknown"`
	PlainText int64 `json:"plain_text"` // answered as text: no tools offered
	Bad       int64 `json:"bad"`        // not a chat request, or no candidates
}

// Sim answers judge requests from the corpus. Safe for concurrent use.
type Sim struct {
	opts   Options
	gold   map[string]string // text → label
	keys   []string          // gold's keys, longest first, for substring search
	labels []string          // non-oos labels, for prompts without an enum
	named  []*regexp.Regexp  // labels[i] as a word

	requests, known, goldN, unknown, plain, bad atomic.Int64
}

// New indexes corpus. A text with two labels keeps the first.
func New(corpus []Example, opts Options) *Sim {
	s := &Sim{opts: opts, gold: map[string]string{}}
	seen := map[string]bool{}
	for _, ex := range corpus {
		for _, k := range ex.Keys {
			if _, dup := s.gold[k]; !dup && k != "" {
				s.gold[k] = ex.Label
				s.keys = append(s.keys, k)
			}
		}
		if ex.Label != OOS && !seen[ex.Label] {
			seen[ex.Label] = true
			s.labels = append(s.labels, ex.Label)
			s.named = append(s.named, regexp.MustCompile(`(^|[^\w-])`+regexp.QuoteMeta(ex.Label)+`($|[^\w-])`))
		}
	}
	slices.SortStableFunc(s.keys, func(a, b string) int { return len(b) - len(a) })
	return s
}

// Texts is how many distinct texts the Sim knows.
func (s *Sim) Texts() int { return len(s.gold) }

// Stats returns the counters so far.
func (s *Sim) Stats() Stats {
	return Stats{Requests: s.requests.Load(), Known: s.known.Load(), Gold: s.goldN.Load(),
		Unknown: s.unknown.Load(), PlainText: s.plain.Load(), Bad: s.bad.Load()}
}

// Handler serves the OpenAI-compatible API, with or without the /v1
// prefix, and GET /stats.
func (s *Sim) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, p := range []string{"/v1", ""} {
		mux.HandleFunc("POST "+p+"/chat/completions", s.handleChat)
		mux.HandleFunc("GET "+p+"/models", s.handleModels)
	}
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s.Stats())
	})
	return mux
}

func (s *Sim) handleModels(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprint(w, `{"object":"list","data":[{"id":"sim","object":"model","created":0,"owned_by":"judgesim"}]}`)
}

// chatRequest is the part of a chat completion request the Sim reads.
type chatRequest struct {
	Model    string    `json:"model"`
	Messages []message `json:"messages"`
	Stream   bool      `json:"stream"`
	Tools    []struct {
		Function struct {
			Name       string `json:"name"`
			Parameters struct {
				Properties map[string]struct {
					Enum []string `json:"enum"`
				} `json:"properties"`
			} `json:"parameters"`
		} `json:"function"`
	} `json:"tools"`
}

func (s *Sim) handleChat(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	var req chatRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<20)).Decode(&req); err != nil {
		s.bad.Add(1)
		httpError(w, http.StatusBadRequest, "bad request: "+err.Error())
		return
	}
	tool, cands, allowNone := s.candidates(&req)
	if len(cands) == 0 {
		s.bad.Add(1)
		httpError(w, http.StatusBadRequest, "no candidate routes in the request")
		return
	}
	text, label, ok := s.lookup(req.Messages)
	if ok {
		s.known.Add(1)
	} else {
		s.unknown.Add(1)
	}
	answer, gold, delay := s.answer(text, label, ok, cands, allowNone)
	if gold {
		s.goldN.Add(1)
	}
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
		return
	}
	args, _ := json.Marshal(map[string]string{"route": answer})
	msg := map[string]any{"role": "assistant", "content": nil}
	finish := "tool_calls"
	if tool == "" {
		s.plain.Add(1)
		msg["content"], finish = string(args), "stop"
	} else {
		msg["tool_calls"] = []map[string]any{{
			"id": "call_sim", "type": "function",
			"function": map[string]string{"name": tool, "arguments": string(args)},
		}}
	}
	model := req.Model
	if model == "" {
		model = "sim"
	}
	id := fmt.Sprintf("chatcmpl-sim-%d", s.requests.Load())
	if req.Stream {
		w.Header().Set("Content-Type", "text/event-stream")
		delta := map[string]any{"id": id, "object": "chat.completion.chunk", "model": model,
			"choices": []map[string]any{{"index": 0, "delta": streamDelta(msg), "finish_reason": finish}}}
		b, _ := json.Marshal(delta)
		fmt.Fprintf(w, "data: %s\n\ndata: [DONE]\n\n", b)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"id": id, "object": "chat.completion", "created": time.Now().Unix(), "model": model,
		"choices": []map[string]any{{"index": 0, "message": msg, "finish_reason": finish}},
		"usage":   map[string]int{"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
	})
}

// streamDelta is msg as one stream delta (tool calls carry an index).
func streamDelta(msg map[string]any) map[string]any {
	d := map[string]any{"role": "assistant"}
	if c, ok := msg["content"].(string); ok {
		d["content"] = c
	}
	if tc, ok := msg["tool_calls"].([]map[string]any); ok {
		tc[0]["index"] = 0
		d["tool_calls"] = tc
	}
	return d
}

// candidates returns the tool to call (the one with a "route" enum; "" if
// no tool was sent), the candidate routes, and whether "none" may be
// answered. Without an enum, the candidates are the corpus labels the
// prompt names as words.
func (s *Sim) candidates(req *chatRequest) (tool string, cands []string, allowNone bool) {
	for _, t := range req.Tools {
		if p, ok := t.Function.Parameters.Properties["route"]; ok && len(p.Enum) > 0 {
			for _, v := range p.Enum {
				if v == None {
					allowNone = true
				} else {
					cands = append(cands, v)
				}
			}
			return t.Function.Name, cands, allowNone
		}
	}
	if len(req.Tools) > 0 {
		tool = req.Tools[0].Function.Name
	}
	var all strings.Builder
	for _, m := range req.Messages {
		all.WriteString(m.text())
		all.WriteByte('\n')
	}
	prompt := all.String()
	for i, l := range s.labels {
		if s.named[i].MatchString(prompt) {
			cands = append(cands, l)
		}
	}
	return tool, cands, strings.Contains(prompt, `"`+None+`"`) || strings.Contains(prompt, " "+None)
}

// quoted finds the text a judge prompt quotes: switchyard's judge
// (router/judge) writes "Message:\n<<<\nTEXT\n>>>"; triple quotes are
// tried too.
var quoted = regexp.MustCompile(`(?s)<<<\n(.*)\n>>>|"""\n?(.*?)\n?"""`)

// lookup finds the corpus text the request is about: a user message that
// is a corpus text, a quoted block that is one, or else the longest corpus
// text found inside a user message.
func (s *Sim) lookup(msgs []message) (text, label string, ok bool) {
	var users []string
	for _, m := range msgs {
		if m.Role == "user" {
			users = append(users, m.text())
		}
	}
	for _, u := range users {
		if l, ok := s.gold[strings.TrimSpace(u)]; ok {
			return strings.TrimSpace(u), l, true
		}
		for _, q := range quoted.FindAllStringSubmatch(u, -1) {
			for _, g := range q[1:] {
				if l, ok := s.gold[strings.TrimSpace(g)]; ok && g != "" {
					return strings.TrimSpace(g), l, true
				}
			}
		}
	}
	for _, k := range s.keys {
		for _, u := range users {
			if len(k) <= len(u) && strings.Contains(u, k) {
				return k, s.gold[k], true
			}
		}
	}
	return strings.TrimSpace(strings.Join(users, "\n")), "", false
}

// answer draws the reply for text: the gold answer with probability
// Accuracy when it can be given, else a uniform choice among the other
// candidates and "none". The draws and the jitter are seeded by text.
func (s *Sim) answer(text, label string, known bool, cands []string, allowNone bool) (answer string, gold bool, delay time.Duration) {
	h := fnv.New64a()
	h.Write([]byte(text))
	rng := rand.New(rand.NewPCG(s.opts.Seed, h.Sum64()))
	delay = s.opts.Latency
	if s.opts.Jitter > 0 {
		delay += time.Duration(rng.Int64N(int64(2*s.opts.Jitter)+1)) - s.opts.Jitter
	}
	want := label
	if label == OOS || slices.Contains(s.opts.NoneLabels, label) {
		want = None
	}
	givable := known && (want == None && allowNone || slices.Contains(cands, want))
	if givable && rng.Float64() < s.opts.Accuracy {
		return want, true, max(delay, 0)
	}
	pool := slices.Clone(cands)
	if allowNone {
		pool = append(pool, None)
	}
	if givable && len(pool) > 1 {
		pool = slices.DeleteFunc(pool, func(c string) bool { return c == want })
	}
	return pool[rng.IntN(len(pool))], false, max(delay, 0)
}

func httpError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]any{"error": map[string]string{"message": msg, "type": "invalid_request_error"}})
	w.Write(b)
}
