package proxy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/rs/zerolog"

	"github.com/switchyard-router/switchyard/classifier"
	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/providers/openai"
	"github.com/switchyard-router/switchyard/providers/providertest"
	"github.com/switchyard-router/switchyard/proxy"
	"github.com/switchyard-router/switchyard/router"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/proxy")

// stubRouter returns a scripted decision and counts its calls.
type stubRouter struct {
	dec   router.Decision
	err   error
	calls atomic.Int32
	// entered and release, when set, make Decide signal that it started and
	// wait to be released, so a test can act while a request is in flight.
	entered chan<- struct{}
	release <-chan struct{}
}

func (s *stubRouter) Decide(ctx context.Context, req *providers.Request) (router.Decision, error) {
	s.calls.Add(1)
	if s.entered != nil {
		s.entered <- struct{}{}
		select {
		case <-s.release:
		case <-ctx.Done():
			return router.Decision{}, ctx.Err()
		}
	}
	return s.dec, s.err
}

// target is one upstream of a chain: provider "name", model "fake-model".
func target(name string, u *providertest.Upstream) providers.Target {
	return providers.Target{Name: name + "/fake-model", Provider: openai.New(name, u.URL, "", u.Client()), Model: "fake-model"}
}

// targetURL is target for an address that may have no server (Refused).
func targetURL(name, url string) providers.Target {
	return providers.Target{Name: name + "/fake-model", Provider: openai.New(name, url, "", nil), Model: "fake-model"}
}

// routed is the decision the stub router makes in most tests: route "code"
// chosen by embedding, served by the given targets in order.
func routed(targets ...providers.Target) router.Decision {
	m := classifier.Match{Route: "code", Score: 0.8125, Cleared: true,
		Scores: []classifier.Score{{Route: "code", Score: 0.8125, Threshold: 0.5}}}
	return router.Decision{
		Route:     "code",
		DecidedBy: router.ByEmbedding,
		Score:     m.Score,
		Match:     &m,
		Chain:     &providers.Chain{Targets: targets},
	}
}

// serve runs switchyard with rt in front of whatever rt's router points at.
func serve(t *testing.T, rt *proxy.Runtime) (*httptest.Server, *proxy.Server) {
	t.Helper()
	s := proxy.NewServer(zerolog.Nop(), rt)
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return ts, s
}

// result is a response read to its end.
type result struct {
	status int
	header http.Header
	body   []byte
}

func do(t *testing.T, ctx context.Context, c *http.Client, method, url, body string, header ...string) result {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = bytes.NewReader([]byte(body))
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return result{status: resp.StatusCode, header: resp.Header, body: b}
}

// chat posts body to the proxy's chat endpoint.
func chat(t *testing.T, ts *httptest.Server, body string, header ...string) result {
	t.Helper()
	return do(t, t.Context(), ts.Client(), http.MethodPost, ts.URL+"/v1/chat/completions", body, header...)
}

const (
	chatBody   = `{"model":"auto","messages":[{"role":"user","content":"hi"}],"temperature":0.25}`
	streamBody = `{"model":"auto","messages":[{"role":"user","content":"hi"}],"stream":true}`
)

// apiError is OpenAI's error body.
type apiError struct {
	Error struct {
		Message string          `json:"message"`
		Type    string          `json:"type"`
		Param   json.RawMessage `json:"param"`
		Code    string          `json:"code"`
	} `json:"error"`
}

// wantAPIError checks that res is a JSON OpenAI error with status, and
// returns it.
func wantAPIError(t *testing.T, res result, status int) apiError {
	t.Helper()
	if res.status != status {
		t.Errorf("status = %d, want %d (body %s)", res.status, status, res.body)
	}
	if ct := res.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var e apiError
	dec := json.NewDecoder(bytes.NewReader(res.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("body %s is not an OpenAI error: %v", res.body, err)
	}
	if e.Error.Message == "" || e.Error.Type == "" || string(e.Error.Param) != "null" {
		t.Errorf("error body %s lacks message, type or param", res.body)
	}
	// OpenAI's codes are words (model_not_found, invalid_api_key), or
	// null; never the status.
	if _, err := strconv.Atoi(e.Error.Code); err == nil {
		t.Errorf("error code = %q, a number; want one of OpenAI's codes or null", e.Error.Code)
	}
	if want := map[int]string{401: "invalid_api_key", 429: "rate_limit_exceeded"}[status]; want != "" && e.Error.Code != want {
		t.Errorf("error code = %q, want %q", e.Error.Code, want)
	}
	return e
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// golden compares got with testdata/proxy/name, rewriting it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("..", "testdata", "proxy", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./proxy -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("body differs from %s (go test ./proxy -update rewrites it)\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

// events splits a server-sent events body into its data payloads.
func events(t *testing.T, body []byte) []string {
	t.Helper()
	var out []string
	for _, ev := range bytes.Split(bytes.TrimSuffix(body, []byte("\n\n")), []byte("\n\n")) {
		data, ok := bytes.CutPrefix(ev, []byte("data: "))
		if !ok || bytes.Contains(data, []byte("\n")) {
			t.Fatalf("malformed event %q in %q", ev, body)
		}
		out = append(out, string(data))
	}
	return out
}
