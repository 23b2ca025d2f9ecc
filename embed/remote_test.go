package embed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ollama/ollama/api"
)

// reply scripts one answer of a fake embedding server.
type reply struct {
	status     int           // 0 means 200
	msg        string        // the upstream's error message, for a status of 400 or more
	retryAfter string        // the Retry-After header, if not empty
	vecs       [][]float32   // nil means rawVec of each input
	delay      time.Duration // before answering, unless the client gives up first
	hangup     bool          // close the connection without answering
	reverse    bool          // OpenAI: list data last index first
}

// script decides the reply to the n-th request (from 1).
type script func(n int, inputs []string) reply

func ok(int, []string) reply { return reply{} }

// replies answers the n-th request with rs[n-1], and later ones with a success.
func replies(rs ...reply) script {
	return func(n int, _ []string) reply {
		if n <= len(rs) {
			return rs[n-1]
		}
		return reply{}
	}
}

func always(r reply) script { return func(int, []string) reply { return r } }

// fakeServer is an embedding server on loopback that answers from a script.
type fakeServer struct {
	*httptest.Server
	mu     sync.Mutex
	inputs [][]string
	hdrs   []http.Header
}

func (f *fakeServer) requests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.inputs)
}

func (f *fakeServer) batches() [][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.inputs)
}

// serve starts a fake whose wire format is given by decode, which reads a
// request's inputs, and encode, which writes a reply.
func serve(t *testing.T, s script, decode func(*testing.T, *http.Request) []string,
	encode func(http.ResponseWriter, reply, [][]float32)) *fakeServer {
	t.Helper()
	f := &fakeServer{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in := decode(t, r)
		f.mu.Lock()
		f.inputs = append(f.inputs, in)
		f.hdrs = append(f.hdrs, r.Header.Clone())
		n := len(f.inputs)
		f.mu.Unlock()
		rep := s(n, in)
		if rep.delay > 0 {
			select {
			case <-time.After(rep.delay):
			case <-r.Context().Done():
				return
			}
		}
		if rep.hangup {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Errorf("hijack: %v", err)
				return
			}
			conn.Close()
			return
		}
		if rep.retryAfter != "" {
			w.Header().Set("Retry-After", rep.retryAfter)
		}
		vecs := rep.vecs
		if vecs == nil {
			for _, text := range in {
				vecs = append(vecs, rawVec(text))
			}
		}
		encode(w, rep, vecs)
	}))
	t.Cleanup(f.Close)
	return f
}

// serveOllama speaks /api/embed with the request and response types of
// github.com/ollama/ollama/api, and errors as the Ollama server writes them.
func serveOllama(t *testing.T, s script) *fakeServer {
	t.Helper()
	decode := func(t *testing.T, r *http.Request) []string {
		if r.Method != http.MethodPost || r.URL.Path != "/api/embed" {
			t.Errorf("request %s %s, want POST /api/embed", r.Method, r.URL.Path)
		}
		var req api.EmbedRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			t.Errorf("decode request: %v", err)
		}
		if req.Model != "nomic-embed-text" {
			t.Errorf("model %q, want nomic-embed-text", req.Model)
		}
		list, isList := req.Input.([]any)
		if !isList {
			t.Errorf("input is %T, want a list", req.Input)
		}
		var in []string
		for _, x := range list {
			s, _ := x.(string)
			in = append(in, s)
		}
		return in
	}
	encode := func(w http.ResponseWriter, rep reply, vecs [][]float32) {
		w.Header().Set("Content-Type", "application/json")
		if rep.status >= 400 {
			w.WriteHeader(rep.status)
			json.NewEncoder(w).Encode(map[string]string{"error": rep.msg})
			return
		}
		json.NewEncoder(w).Encode(api.EmbedResponse{Model: "nomic-embed-text", Embeddings: vecs})
	}
	return serve(t, s, decode, encode)
}

// serveOpenAI speaks POST /v1/embeddings as OpenAI documents it.
func serveOpenAI(t *testing.T, s script) *fakeServer {
	t.Helper()
	decode := func(t *testing.T, r *http.Request) []string {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/embeddings" {
			t.Errorf("request %s %s, want POST /v1/embeddings", r.Method, r.URL.Path)
		}
		var req struct {
			Model          string   `json:"model"`
			Input          []string `json:"input"`
			EncodingFormat string   `json:"encoding_format"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			t.Errorf("decode request: %v", err)
		}
		if req.Model != "text-embedding-3-small" || req.EncodingFormat != "float" {
			t.Errorf("model %q, encoding_format %q", req.Model, req.EncodingFormat)
		}
		return req.Input
	}
	encode := func(w http.ResponseWriter, rep reply, vecs [][]float32) {
		w.Header().Set("Content-Type", "application/json")
		if rep.status >= 400 {
			w.WriteHeader(rep.status)
			json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
				"message": rep.msg, "type": "invalid_request_error", "param": nil, "code": nil,
			}})
			return
		}
		type datum struct {
			Object    string    `json:"object"`
			Index     int       `json:"index"`
			Embedding []float32 `json:"embedding"`
		}
		data := []datum{}
		for i, v := range vecs {
			data = append(data, datum{"embedding", i, v})
		}
		if rep.reverse {
			slices.Reverse(data)
		}
		json.NewEncoder(w).Encode(map[string]any{
			"object": "list", "data": data, "model": "text-embedding-3-small",
			"usage": map[string]int{"prompt_tokens": 8, "total_tokens": 8},
		})
	}
	return serve(t, s, decode, encode)
}

// prober is what both server backends offer.
type prober interface {
	Embedder
	Probe(ctx context.Context) error
}

// backends lists the server backends, so each behaviour they share is
// tested against both wire formats.
var backends = []struct {
	name  string
	serve func(*testing.T, script) *fakeServer
	open  func(*testing.T, *fakeServer, RemoteOptions) prober
}{
	{"ollama", serveOllama, func(t *testing.T, f *fakeServer, o RemoteOptions) prober {
		e, err := NewOllama(f.URL, "nomic-embed-text", f.Client(), o)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}},
	{"openai", serveOpenAI, func(t *testing.T, f *fakeServer, o RemoteOptions) prober {
		e, err := NewOpenAI(f.URL+"/v1", "text-embedding-3-small", "sk-test", f.Client(), o)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}},
}

// fast keeps retries quick in tests.
var fast = RemoteOptions{Backoff: time.Millisecond, Timeout: 5 * time.Second}

// rawVec is what the fake servers return for text: not unit length, and
// different for different texts.
func rawVec(text string) []float32 {
	h := fnv.New32a()
	h.Write([]byte(text))
	return []float32{float32(len(text) + 1), 3, -4, float32(h.Sum32() % 7)}
}

func wantVecs(t *testing.T, got [][]float32, texts []string) {
	t.Helper()
	if msg := vecsDiffer(got, texts); msg != "" {
		t.Fatal(msg)
	}
}

// vecsDiffer says how got differs from the unit-length rawVec of each text,
// or returns "" if it does not.
func vecsDiffer(got [][]float32, texts []string) string {
	if len(got) != len(texts) {
		return fmt.Sprintf("got %d vectors for %d texts", len(got), len(texts))
	}
	for i, text := range texts {
		raw := rawVec(text)
		if len(got[i]) != len(raw) {
			return fmt.Sprintf("vector %d (%q) has dimension %d, want %d", i, text, len(got[i]), len(raw))
		}
		var norm float64
		for _, x := range raw {
			norm += float64(x) * float64(x)
		}
		norm = math.Sqrt(norm)
		for k, x := range raw {
			if want := float64(x) / norm; math.Abs(float64(got[i][k])-want) > 1e-6 {
				return fmt.Sprintf("vector %d (%q) = %v, want %v/%.3f", i, text, got[i], raw, norm)
			}
		}
	}
	return ""
}

func texts(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = strings.Repeat("x", i) + "text"
	}
	return out
}

func TestRemoteEmbedsNormalisedInOrder(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			f := b.serve(t, ok)
			e := b.open(t, f, fast)
			if d := e.Dim(); d != 0 {
				t.Errorf("Dim before any response = %d, want 0", d)
			}
			in := []string{"route me", "to the cheapest model", "please"}
			got, err := e.Embed(t.Context(), in)
			if err != nil {
				t.Fatal(err)
			}
			wantVecs(t, got, in)
			if f.requests() != 1 {
				t.Errorf("%d requests, want 1", f.requests())
			}
			if d := e.Dim(); d != 4 {
				t.Errorf("Dim = %d, want 4", d)
			}
		})
	}
}

func TestRemoteEmptyInputSendsNothing(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			f := b.serve(t, ok)
			got, err := b.open(t, f, fast).Embed(t.Context(), nil)
			if err != nil || got == nil || len(got) != 0 {
				t.Errorf("Embed(nil) = %v, %v; want an empty slice", got, err)
			}
			if f.requests() != 0 {
				t.Errorf("%d requests, want 0", f.requests())
			}
		})
	}
}

func TestRemoteSplitsBatchesAndReassemblesInOrder(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			f := b.serve(t, ok)
			opts := fast
			opts.MaxBatch = 3
			in := texts(8)
			got, err := b.open(t, f, opts).Embed(t.Context(), in)
			if err != nil {
				t.Fatal(err)
			}
			wantVecs(t, got, in)
			want := [][]string{in[0:3], in[3:6], in[6:8]}
			if got := f.batches(); !slices.EqualFunc(got, want, slices.Equal) {
				t.Errorf("batches %q, want %q", got, want)
			}
		})
	}
}

func TestRemoteRetriesOnlyWhatMaySucceed(t *testing.T) {
	tests := []struct {
		name     string
		script   script
		opts     func(*RemoteOptions)
		wantErr  string // "" = success
		status   int    // the *StatusError wanted, if not 0
		requests int
	}{
		{"503 then success", replies(reply{status: 503, msg: "loading model"}), nil, "", 0, 2},
		{"500 twice then success", replies(reply{status: 500}, reply{status: 500}), nil, "", 0, 3},
		{"connection dropped then success", replies(reply{hangup: true}), nil, "", 0, 2},
		{"503 every time gives up", always(reply{status: 503, msg: "overloaded"}), nil,
			"status 503: overloaded", 503, 3},
		{"attempts is a knob", always(reply{status: 503, msg: "overloaded"}),
			func(o *RemoteOptions) { o.Attempts = 5 }, "status 503: overloaded", 503, 5},
		{"400 is not retried", always(reply{status: 400, msg: "input too long"}), nil,
			"status 400: input too long", 400, 1},
		{"401 is not retried", always(reply{status: 401, msg: "invalid api key"}), nil,
			"status 401", 401, 1},
		{"404 is not retried", always(reply{status: 404, msg: "no such model"}), nil,
			"status 404: no such model", 404, 1},
		{"wrong count is not retried", always(reply{vecs: [][]float32{{1, 2, 3, 4}}}), nil,
			"server returned 1 vectors for 3 inputs", 0, 1},
		{"zero vector", always(reply{vecs: [][]float32{{1, 0, 0, 0}, {0, 0, 0, 0}, {1, 1, 1, 1}}}), nil,
			"vector 1 is zero", 0, 1},
		{"empty vector", always(reply{vecs: [][]float32{{}, {}, {}}}), nil,
			"vector 0 is zero", 0, 1},
		{"dimensions disagree within a response", always(reply{vecs: [][]float32{{1, 0, 0, 0}, {1, 0, 0}, {1, 1, 1, 1}}}), nil,
			"vector 1 has dimension 3, want 4", 0, 1},
		{"configured dimension enforced", ok, func(o *RemoteOptions) { o.Dim = 768 },
			"vector 0 has dimension 4, want 768", 0, 1},
	}
	for _, b := range backends {
		for _, tt := range tests {
			t.Run(b.name+"/"+tt.name, func(t *testing.T) {
				f := b.serve(t, tt.script)
				opts := fast
				if tt.opts != nil {
					tt.opts(&opts)
				}
				in := []string{"a", "bb", "ccc"}
				got, err := b.open(t, f, opts).Embed(t.Context(), in)
				if n := f.requests(); n != tt.requests {
					t.Errorf("%d requests, want %d", n, tt.requests)
				}
				if tt.wantErr == "" {
					if err != nil {
						t.Fatal(err)
					}
					wantVecs(t, got, in)
					return
				}
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				if !strings.HasPrefix(err.Error(), "embed with "+b.name+" ") || !strings.Contains(err.Error(), f.URL) {
					t.Errorf("err = %q, want it to name the backend and %s", err, f.URL)
				}
				var se *StatusError
				if got := errors.As(err, &se); got != (tt.status != 0) || got && se.Status != tt.status {
					t.Errorf("err = %#v, want a *StatusError with status %d", err, tt.status)
				}
			})
		}
	}
}

func TestRemoteHonoursRetryAfter(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			f := b.serve(t, replies(reply{status: 429, msg: "slow down", retryAfter: "1"}))
			start := time.Now()
			if _, err := b.open(t, f, fast).Embed(t.Context(), []string{"a"}); err != nil {
				t.Fatal(err)
			}
			if d := time.Since(start); d < 900*time.Millisecond {
				t.Errorf("retried after %v, want the 1s the server asked for", d)
			}
			if f.requests() != 2 {
				t.Errorf("%d requests, want 2", f.requests())
			}
		})
		t.Run(b.name+"/capped", func(t *testing.T) {
			f := b.serve(t, replies(reply{status: 429, retryAfter: "3600"}))
			opts := fast
			opts.MaxWait = 20 * time.Millisecond
			start := time.Now()
			if _, err := b.open(t, f, opts).Embed(t.Context(), []string{"a"}); err != nil {
				t.Fatal(err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("retried after %v, want MaxWait to cap the wait", d)
			}
		})
	}
}

func TestRemoteTimesOutEachAttempt(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name+"/then success", func(t *testing.T) {
			f := b.serve(t, replies(reply{delay: 10 * time.Second}))
			opts := fast
			opts.Timeout = 100 * time.Millisecond
			start := time.Now()
			if _, err := b.open(t, f, opts).Embed(t.Context(), []string{"a"}); err != nil {
				t.Fatal(err)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("took %v, want the first attempt cut at 100ms", d)
			}
			if f.requests() != 2 {
				t.Errorf("%d requests, want 2", f.requests())
			}
		})
		t.Run(b.name+"/every time", func(t *testing.T) {
			f := b.serve(t, always(reply{delay: 10 * time.Second}))
			opts := fast
			opts.Timeout = 50 * time.Millisecond
			_, err := b.open(t, f, opts).Embed(t.Context(), []string{"a"})
			if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "attempt timed out after 50ms") {
				t.Errorf("err = %v, want the attempt's timeout", err)
			}
			if f.requests() != 3 {
				t.Errorf("%d requests, want 3", f.requests())
			}
		})
	}
}

func TestRemoteStopsWhenTheCallerGivesUp(t *testing.T) {
	tests := []struct {
		name   string
		script script
		opts   RemoteOptions
		ctx    func(context.Context) (context.Context, context.CancelFunc)
		want   error
	}{
		{"cancelled mid-request", always(reply{delay: 10 * time.Second}), fast,
			func(ctx context.Context) (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(ctx)
				time.AfterFunc(50*time.Millisecond, cancel)
				return ctx, cancel
			}, context.Canceled},
		{"cancelled during backoff", always(reply{status: 503}), RemoteOptions{Backoff: 10 * time.Second},
			func(ctx context.Context) (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(ctx)
				time.AfterFunc(50*time.Millisecond, cancel)
				return ctx, cancel
			}, context.Canceled},
		{"deadline before the backoff ends", always(reply{status: 503, msg: "busy"}), RemoteOptions{Backoff: 10 * time.Second},
			func(ctx context.Context) (context.Context, context.CancelFunc) {
				return context.WithTimeout(ctx, time.Second)
			}, nil},
	}
	for _, b := range backends {
		for _, tt := range tests {
			t.Run(b.name+"/"+tt.name, func(t *testing.T) {
				f := b.serve(t, tt.script)
				ctx, cancel := tt.ctx(t.Context())
				defer cancel()
				start := time.Now()
				_, err := b.open(t, f, tt.opts).Embed(ctx, []string{"a"})
				if d := time.Since(start); d > 900*time.Millisecond {
					t.Errorf("returned after %v, want at once", d)
				}
				if err == nil || tt.want != nil && !errors.Is(err, tt.want) {
					t.Errorf("err = %v, want %v", err, tt.want)
				}
				if tt.want == nil && !strings.Contains(fmtErr(err), "status 503: busy") {
					t.Errorf("err = %v, want the server's", err)
				}
				if f.requests() != 1 {
					t.Errorf("%d requests, want 1", f.requests())
				}
			})
		}
	}
}

func fmtErr(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestRemoteLearnsDimThenEnforcesIt(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			f := b.serve(t, replies(reply{}, reply{vecs: [][]float32{{1, 2, 3, 4, 5}}}))
			e := b.open(t, f, fast)
			if err := e.Probe(t.Context()); err != nil {
				t.Fatal(err)
			}
			if d := e.Dim(); d != 4 {
				t.Fatalf("Dim after Probe = %d, want 4", d)
			}
			_, err := e.Embed(t.Context(), []string{"a"})
			if err == nil || !strings.Contains(err.Error(), "vector 0 has dimension 5, want 4") {
				t.Errorf("err = %v, want a dimension mismatch", err)
			}
			if d := e.Dim(); d != 4 {
				t.Errorf("Dim after a bad response = %d, want 4", d)
			}
		})
	}
}

func TestRemoteConfiguredDimIsKnownAtOnce(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			e := b.open(t, b.serve(t, ok), RemoteOptions{Dim: 4})
			if d := e.Dim(); d != 4 {
				t.Errorf("Dim = %d, want 4", d)
			}
		})
	}
}

func TestRemoteConcurrentCalls(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			f := b.serve(t, ok)
			e := b.open(t, f, RemoteOptions{MaxBatch: 2})
			var wg sync.WaitGroup
			for i := range 8 {
				wg.Go(func() {
					in := texts(i + 1)
					got, err := e.Embed(t.Context(), in)
					if err != nil {
						t.Error(err)
						return
					}
					if msg := vecsDiffer(got, in); msg != "" {
						t.Error(msg)
					}
				})
			}
			wg.Wait()
		})
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		in      []float32
		want    []float32
		wantErr string
	}{
		{[]float32{3, 4}, []float32{0.6, 0.8}, ""},
		{[]float32{0, -2}, []float32{0, -1}, ""},
		{[]float32{1e30, 1e30}, []float32{float32(math.Sqrt2 / 2), float32(math.Sqrt2 / 2)}, ""},
		{[]float32{0, 0}, nil, "is zero"},
		{[]float32{}, nil, "is zero"},
		{[]float32{1, float32(math.NaN())}, nil, "is not finite"},
		{[]float32{float32(math.Inf(-1)), 1}, nil, "is not finite"},
	}
	for _, tt := range tests {
		v := slices.Clone(tt.in)
		err := normalize(v)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("normalize(%v) err = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("normalize(%v): %v", tt.in, err)
			continue
		}
		for i := range v {
			if math.Abs(float64(v[i]-tt.want[i])) > 1e-6 {
				t.Errorf("normalize(%v) = %v, want %v", tt.in, v, tt.want)
				break
			}
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", -1},
		{"7", 7 * time.Second},
		{" 0 ", 0},
		{"-3", -1},
		{"soon", -1},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestBackoffGrowsWithJitterAndIsCapped(t *testing.T) {
	r := newRemote("test", RemoteOptions{Backoff: 100 * time.Millisecond, MaxWait: time.Second}, nil)
	for attempt, want := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 3: 400 * time.Millisecond, 5: time.Second, 40: time.Second} {
		for range 50 {
			if d := r.wait(attempt, errors.New("reset")); d < want/2 || d > want {
				t.Fatalf("wait after attempt %d = %v, want in [%v, %v]", attempt, d, want/2, want)
			}
		}
	}
}

func TestStatusErrorMessageIsClipped(t *testing.T) {
	e := newStatusError(502, "<html>"+strings.Repeat("é", 1000), nil)
	if len(e.Message) > maxMessage+len("…") || !strings.HasSuffix(e.Message, "…") {
		t.Errorf("message of %d bytes, want it clipped to %d", len(e.Message), maxMessage)
	}
	if !e.Retryable {
		t.Error("502 not retryable")
	}
}
