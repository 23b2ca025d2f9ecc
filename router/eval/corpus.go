// Package eval measures routing quality offline: it reads a labelled corpus,
// runs every example through a router.Router (embeddings served from a disk
// cache, so the decision rules are exactly the router's), computes accuracy,
// macro-F1, per-route and out-of-scope precision/recall/F1, coverage and a
// confusion matrix, renders an HTML report, and fits thresholds, margin and
// aggregation to the corpus (see Fit). It never calls an upstream.
package eval

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/switchyard-router/switchyard/providers"
)

// OOS is the label of an example that should fall to the default route
// because no route fits it.
const OOS = "oos"

// Example is one labelled corpus line.
type Example struct {
	Line     int                 // 1-based line number in the corpus
	Label    string              // a route name or OOS
	Messages []providers.Message // a "text" line becomes one user message
}

// Request is the chat request the example stands for, asking the router to
// choose ("auto").
func (ex Example) Request() *providers.Request {
	return &providers.Request{Model: "auto", Messages: ex.Messages}
}

type corpusLine struct {
	Text     *string       `json:"text"`
	Messages []wireMessage `json:"messages"`
	Label    string        `json:"label"`
}

type wireMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

type wirePart struct {
	Type     string `json:"type"`
	Text     string `json:"text"`
	ImageURL *struct {
		URL string `json:"url"`
	} `json:"image_url"`
}

// maxLine bounds one corpus line, in bytes.
const maxLine = 16 << 20

// ReadCorpus reads JSON Lines, each {"text": ..., "label": ...} or
// {"messages": [OpenAI chat messages], "label": ...}; other keys are
// ignored. Blank lines and lines
// starting with # are skipped. Every bad line is reported, with its number,
// in one joined error.
func ReadCorpus(r io.Reader) ([]Example, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	var (
		out  []Example
		errs []error
	)
	for n := 1; sc.Scan(); n++ {
		raw := strings.TrimSpace(sc.Text())
		if raw == "" || strings.HasPrefix(raw, "#") {
			continue
		}
		ex, err := parseLine(raw)
		if err != nil {
			errs = append(errs, fmt.Errorf("line %d: %w", n, err))
			continue
		}
		ex.Line = n
		out = append(out, ex)
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("read corpus: %w", err))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(out) == 0 {
		return nil, errors.New("corpus has no examples")
	}
	return out, nil
}

func parseLine(raw string) (Example, error) {
	var l corpusLine
	// Other keys (an id, a source) are allowed: corpora carry bookkeeping.
	if err := json.Unmarshal([]byte(raw), &l); err != nil {
		return Example{}, fmt.Errorf("bad JSON: %w", err)
	}
	l.Label = strings.TrimSpace(l.Label)
	switch {
	case l.Label == "":
		return Example{}, errors.New(`missing "label"`)
	case l.Text != nil && l.Messages != nil:
		return Example{}, errors.New(`has both "text" and "messages"`)
	case l.Text != nil:
		if strings.TrimSpace(*l.Text) == "" {
			return Example{}, errors.New(`"text" is blank`)
		}
		return Example{Label: l.Label, Messages: []providers.Message{userMessage(*l.Text)}}, nil
	case len(l.Messages) == 0:
		return Example{}, errors.New(`needs "text" or "messages"`)
	}
	ex := Example{Label: l.Label}
	for i, m := range l.Messages {
		msg, err := parseMessage(m)
		if err != nil {
			return Example{}, fmt.Errorf("message %d: %w", i, err)
		}
		ex.Messages = append(ex.Messages, msg)
	}
	return ex, nil
}

func userMessage(text string) providers.Message {
	return providers.Message{Role: "user", Parts: []providers.Part{{Type: "text", Text: text}}}
}

func parseMessage(m wireMessage) (providers.Message, error) {
	if m.Role == "" {
		return providers.Message{}, errors.New(`missing "role"`)
	}
	msg := providers.Message{Role: m.Role}
	c := strings.TrimSpace(string(m.Content))
	switch {
	case c == "" || c == "null":
	case c[0] == '"':
		var s string
		if err := json.Unmarshal(m.Content, &s); err != nil {
			return providers.Message{}, fmt.Errorf("content: %w", err)
		}
		msg.Parts = []providers.Part{{Type: "text", Text: s}}
	case c[0] == '[':
		var parts []wirePart
		if err := json.Unmarshal(m.Content, &parts); err != nil {
			return providers.Message{}, fmt.Errorf("content: %w", err)
		}
		for _, p := range parts {
			part := providers.Part{Type: p.Type, Text: p.Text}
			if p.ImageURL != nil {
				part.URL = p.ImageURL.URL
			}
			msg.Parts = append(msg.Parts, part)
		}
	default:
		return providers.Message{}, errors.New("content is neither a string nor an array of parts")
	}
	return msg, nil
}

// CheckLabels reports every label that is neither OOS nor one of routes.
func CheckLabels(corpus []Example, routes []string) error {
	var unknown []string
	for _, ex := range corpus {
		if ex.Label != OOS && !slices.Contains(routes, ex.Label) && !slices.Contains(unknown, ex.Label) {
			unknown = append(unknown, ex.Label)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	slices.Sort(unknown)
	return fmt.Errorf("corpus labels name no route: %s (routes: %s, or %q for out of scope)",
		strings.Join(unknown, ", "), strings.Join(routes, ", "), OOS)
}
