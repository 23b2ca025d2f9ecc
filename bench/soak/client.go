package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// Outcome classes of one client request.
const (
	outcomeOK = "ok"
	// outcomeFailedEarly: the client got an error before any content, a
	// failure a healthy target could have served. Must be 0.
	outcomeFailedEarly = "failed before any content"
	// outcomeCut: a stream that failed after content went out. Unavoidable
	// by design (no failover after the first byte); it must end with an
	// error event and no [DONE].
	outcomeCut = "stream cut after content"
	// outcomeOther: anything else, such as a wrong answer or a cut stream
	// without an error event. Must be 0.
	outcomeOther = "other"
)

// result is one request's outcome.
type result struct {
	stream  bool
	outcome string
	reason  string // for anything but ok
	target  string // X-Switchyard-Model
	took    time.Duration
}

// client sends chat requests to switchyard: non-streaming ones through
// the official SDK, streaming ones as raw HTTP so that the SSE bytes
// ([DONE], error events) can be checked.
type client struct {
	base    string
	hc      *http.Client
	sdk     openai.Client
	answers []string // every answer an upstream may give
}

func newClient(base string, answers []string) *client {
	hc := &http.Client{Transport: &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: 90 * time.Second}}
	return &client{
		base:    base,
		hc:      hc,
		sdk:     openai.NewClient(option.WithBaseURL(base+"/v1/"), option.WithAPIKey("soak"), option.WithHTTPClient(hc), option.WithMaxRetries(0)),
		answers: answers,
	}
}

func (c *client) known(text string) bool {
	for _, a := range c.answers {
		if text == a {
			return true
		}
	}
	return false
}

func (c *client) prefixOfKnown(text string) bool {
	for _, a := range c.answers {
		if strings.HasPrefix(a, text) {
			return true
		}
	}
	return false
}

func (c *client) do(ctx context.Context, model string, stream bool) result {
	start := time.Now()
	var r result
	if stream {
		r = c.stream(ctx, model)
	} else {
		r = c.complete(ctx, model)
	}
	r.stream, r.took = stream, time.Since(start)
	return r
}

func (c *client) complete(ctx context.Context, model string) result {
	var resp *http.Response
	got, err := c.sdk.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
		Model:    model,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("soak")},
	}, option.WithResponseInto(&resp))
	if err != nil {
		var apiErr *openai.Error
		if errors.As(err, &apiErr) {
			return result{outcome: outcomeFailedEarly, reason: fmt.Sprintf("status %d: %s", apiErr.StatusCode, trim(apiErr.Message))}
		}
		return result{outcome: outcomeFailedEarly, reason: "transport: " + trim(err.Error())}
	}
	target := resp.Header.Get("X-Switchyard-Model")
	if len(got.Choices) != 1 || !c.known(got.Choices[0].Message.Content) {
		return result{outcome: outcomeOther, reason: "unexpected answer", target: target}
	}
	return result{outcome: outcomeOK, target: target}
}

func (c *client) stream(ctx context.Context, model string) result {
	body := fmt.Sprintf(`{"model":%q,"stream":true,"messages":[{"role":"user","content":"soak"}]}`, model)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/v1/chat/completions", strings.NewReader(body))
	if err != nil {
		return result{outcome: outcomeOther, reason: err.Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return result{outcome: outcomeFailedEarly, reason: "transport: " + trim(err.Error())}
	}
	defer resp.Body.Close()
	target := resp.Header.Get("X-Switchyard-Model")
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		var e struct {
			Error struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		json.Unmarshal(b, &e)
		return result{outcome: outcomeFailedEarly, reason: fmt.Sprintf("status %d: %s", resp.StatusCode, trim(e.Error.Message))}
	}
	var text strings.Builder
	var errEvent string
	done := false
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		if data == "[DONE]" {
			done = true
			continue
		}
		var ev struct {
			Choices []struct {
				Delta struct {
					Content string `json:"content"`
				} `json:"delta"`
			} `json:"choices"`
			Error *struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal([]byte(data), &ev); err != nil {
			return result{outcome: outcomeOther, reason: "event is not JSON", target: target}
		}
		if ev.Error != nil {
			errEvent = ev.Error.Message
			if errEvent == "" {
				errEvent = "(no message)"
			}
			continue
		}
		for _, ch := range ev.Choices {
			text.WriteString(ch.Delta.Content)
		}
	}
	readErr := sc.Err()
	got := text.String()
	switch {
	case got == "" && errEvent != "":
		return result{outcome: outcomeFailedEarly, reason: "stream with only an error event: " + trim(errEvent), target: target}
	case got == "":
		return result{outcome: outcomeFailedEarly, reason: fmt.Sprintf("stream with no content (read error %v, [DONE] %t)", readErr, done), target: target}
	case done && errEvent == "" && readErr == nil && c.known(got):
		return result{outcome: outcomeOK, target: target}
	case errEvent != "" && !done && c.prefixOfKnown(got):
		return result{outcome: outcomeCut, reason: trim(errEvent), target: target}
	case done && errEvent != "":
		return result{outcome: outcomeOther, reason: "error event and [DONE] both sent", target: target}
	case !done && errEvent == "":
		return result{outcome: outcomeOther, reason: fmt.Sprintf("stream ended after content with neither error event nor [DONE] (read error %v)", readErr), target: target}
	}
	return result{outcome: outcomeOther, reason: fmt.Sprintf("unexpected stream: text %q, done %t, error %q", got, done, errEvent), target: target}
}

// trim keeps reasons short and groups similar ones: numbers and
// addresses vary from request to request. A message that shows what the
// hostile upstream hid in its error body (or any address) is marked, and
// the run fails on it (see leaked).
func trim(s string) string {
	if strings.Contains(s, secret) || strings.Contains(s, "10.9.8.7") || strings.Contains(s, "sk-UPSTREAM") || strings.Contains(s, "http://") {
		return leakedMark + s
	}
	s = portRE.ReplaceAllString(s, ":*")
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return s
}

var portRE = regexp.MustCompile(`:[0-9]{2,5}\b`)

// leakedMark starts the reason of a result whose error showed the client
// an upstream's secret or an address.
const leakedMark = "LEAKED: "
