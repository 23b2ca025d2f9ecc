package providers_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/providers/openai"
	"github.com/switchyard-router/switchyard/providers/providertest"
)

// S is short for the scripts of one upstream.
type S = []providertest.Script

func newRequest(stream bool) *providers.Request {
	return &providers.Request{
		Model:    "auto",
		Stream:   stream,
		Messages: []providers.Message{{Role: "user", Parts: []providers.Part{{Type: "text", Text: "hi"}}}},
		Fields: map[string]json.RawMessage{
			"model":    json.RawMessage(`"auto"`),
			"messages": json.RawMessage(`[{"role":"user","content":"hi"}]`),
		},
	}
}

func target(name, url string, hc *http.Client, timeout time.Duration) providers.Target {
	c := openai.New(name, url, "key", hc)
	c.Timeout = timeout
	return providers.Target{Name: name + "/m", Provider: c, Model: name + "-model"}
}

// run sends one request through c, streamed or not, and returns the text
// the client would have received.
func run(ctx context.Context, c *providers.Chain, stream bool) (string, error) {
	if !stream {
		resp, err := c.Complete(ctx, newRequest(false))
		if err != nil {
			return "", err
		}
		return resp.Message.Text(), nil
	}
	var b strings.Builder
	err := c.Stream(ctx, newRequest(true), func(ch providers.Chunk) error {
		b.WriteString(ch.Text)
		return nil
	})
	return b.String(), err
}

func status(t *testing.T, err error) int {
	t.Helper()
	if err == nil {
		return 0
	}
	var pe *providers.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *providers.Error", err, err)
	}
	return pe.Status
}

func TestChainFailover(t *testing.T) {
	const (
		both = iota
		completeOnly
		streamOnly
	)
	tests := []struct {
		name        string
		primary     S
		refused     bool          // the primary's address refuses connections
		timeout     time.Duration // the primary client's Timeout
		mode        int
		wantText    string
		wantStatus  int // 0 = success
		wantPrimary int // requests that reached the primary upstream
		wantBackup  int // requests that reached the backup upstream
	}{
		{name: "ok", primary: S{{}}, wantText: "Hello", wantPrimary: 1},
		{name: "503 fails over", primary: S{{Status: 503}}, wantText: "Backup", wantPrimary: 1, wantBackup: 1},
		{name: "502 fails over", primary: S{{Status: 502}}, wantText: "Backup", wantPrimary: 1, wantBackup: 1},
		{name: "500 fails over", primary: S{{Status: 500}}, wantText: "Backup", wantPrimary: 1, wantBackup: 1},
		{name: "408 fails over", primary: S{{Status: 408}}, wantText: "Backup", wantPrimary: 1, wantBackup: 1},
		{name: "429 fails over", primary: S{{Status: 429}}, wantText: "Backup", wantPrimary: 1, wantBackup: 1},
		{name: "429 with retry-after fails over", primary: S{{Status: 429, RetryAfter: "1"}}, wantText: "Backup", wantPrimary: 1, wantBackup: 1},
		{name: "503 with retry-after fails over", primary: S{{Status: 503, RetryAfter: "30"}}, wantText: "Backup", wantPrimary: 1, wantBackup: 1},
		{name: "refused connection fails over", refused: true, wantText: "Backup", wantBackup: 1},
		{name: "timeout fails over", primary: S{{Delay: 5 * time.Second}}, timeout: 50 * time.Millisecond, wantText: "Backup", wantPrimary: 1, wantBackup: 1},
		{name: "malformed body fails over", primary: S{{Malformed: true}}, wantText: "Backup", wantPrimary: 1, wantBackup: 1},
		{name: "400 is final", primary: S{{Status: 400}}, wantStatus: 400, wantPrimary: 1},
		// A refused key is the provider's problem, not the request's.
		{name: "401 fails over", primary: S{{Status: 401}}, wantText: "Backup", wantPrimary: 1, wantBackup: 1},
		{name: "403 fails over", primary: S{{Status: 403}}, wantText: "Backup", wantPrimary: 1, wantBackup: 1},
		{name: "404 is final", primary: S{{Status: 404}}, wantStatus: 404, wantPrimary: 1},
		{name: "cut after first chunk is final", primary: S{{Chunks: []string{"Hel", "lo"}, CutAfter: 1}}, mode: streamOnly,
			wantText: "Hel", wantStatus: 502, wantPrimary: 1},
		{name: "cut before [DONE] is final", primary: S{{Chunks: []string{"Hel", "lo"}, CutAfter: 2}}, mode: streamOnly,
			wantText: "Hello", wantStatus: 502, wantPrimary: 1},
		{name: "error event before first chunk fails over", mode: streamOnly,
			primary:  S{{Body: "data: {\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\",\"code\":503}}\n\n"}},
			wantText: "Backup", wantPrimary: 1, wantBackup: 1},
		{name: "stream ok in chunks", primary: S{{Chunks: []string{"Hel", "lo"}, Usage: true}}, mode: streamOnly, wantText: "Hello", wantPrimary: 1},
	}
	for _, tt := range tests {
		for _, stream := range []bool{false, true} {
			if (stream && tt.mode == completeOnly) || (!stream && tt.mode == streamOnly) {
				continue
			}
			name := tt.name + "/complete"
			if stream {
				name = tt.name + "/stream"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				backup := providertest.OpenAI(t, providertest.Script{Text: "Backup"})
				var primary *providertest.Upstream
				url, hc := providertest.Refused(t), &http.Client{}
				if !tt.refused {
					primary = providertest.OpenAI(t, tt.primary...)
					url, hc = primary.URL, primary.Client()
				}
				c := &providers.Chain{
					Targets: []providers.Target{target("primary", url, hc, tt.timeout), target("backup", backup.URL, backup.Client(), 0)},
					Retries: 1,
					Backoff: time.Millisecond,
				}
				text, err := run(t.Context(), c, stream)
				if got := status(t, err); got != tt.wantStatus {
					t.Errorf("status = %d (%v), want %d", got, err, tt.wantStatus)
				}
				if text != tt.wantText {
					t.Errorf("text = %q, want %q", text, tt.wantText)
				}
				if primary != nil && primary.Requests() != tt.wantPrimary {
					t.Errorf("primary got %d requests, want %d", primary.Requests(), tt.wantPrimary)
				}
				if backup.Requests() != tt.wantBackup {
					t.Errorf("backup got %d requests, want %d", backup.Requests(), tt.wantBackup)
				}
			})
		}
	}
}

// Retries bounds the attempts beyond one per target: rounds go over the
// targets in order again until the budget is spent.
func TestChainRetriesBoundAttempts(t *testing.T) {
	for _, tt := range []struct{ retries, a, b, status int }{
		{0, 1, 1, 500}, // a, b
		{1, 2, 1, 503}, // a, b, a
		{3, 3, 2, 503}, // a, b, a, b, a
	} {
		for _, stream := range []bool{false, true} {
			a := providertest.OpenAI(t, providertest.Script{Status: 503})
			b := providertest.OpenAI(t, providertest.Script{Status: 500})
			c := &providers.Chain{
				Targets: []providers.Target{target("a", a.URL, a.Client(), 0), target("b", b.URL, b.Client(), 0)},
				Retries: tt.retries,
				Backoff: time.Millisecond,
			}
			var tr providers.Trace
			_, err := run(providers.WithTrace(t.Context(), &tr), c, stream)
			if got := status(t, err); got != tt.status {
				t.Errorf("retries=%d stream=%v: status = %d, want the last error's %d", tt.retries, stream, got, tt.status)
			}
			if a.Requests() != tt.a || b.Requests() != tt.b {
				t.Errorf("retries=%d stream=%v: requests = %d and %d, want %d and %d", tt.retries, stream, a.Requests(), b.Requests(), tt.a, tt.b)
			}
			if len(tr.Attempts) != tt.a+tt.b || tr.Target != "" {
				t.Errorf("retries=%d stream=%v: trace = %+v", tt.retries, stream, tr)
			}
		}
	}
}

// A second round, after every target failed once, can succeed.
func TestChainSecondRound(t *testing.T) {
	a := providertest.OpenAI(t, providertest.Script{Status: 503}, providertest.Script{Text: "again"})
	b := providertest.OpenAI(t, providertest.Script{Status: 502})
	c := &providers.Chain{
		Targets: []providers.Target{target("a", a.URL, a.Client(), 0), target("b", b.URL, b.Client(), 0)},
		Retries: 1,
		Backoff: time.Millisecond,
	}
	text, err := run(t.Context(), c, false)
	if err != nil || text != "again" || a.Requests() != 2 || b.Requests() != 1 {
		t.Fatalf("text %q err %v, requests %d and %d", text, err, a.Requests(), b.Requests())
	}
}

func TestChainTrace(t *testing.T) {
	for _, stream := range []bool{false, true} {
		primary := providertest.OpenAI(t, providertest.Script{Status: 503})
		backup := providertest.OpenAI(t, providertest.Script{Chunks: []string{"a", "b"}})
		c := &providers.Chain{
			Targets: []providers.Target{target("primary", primary.URL, primary.Client(), 0), target("backup", backup.URL, backup.Client(), 0)},
			Retries: 1,
			Backoff: time.Millisecond,
		}
		var tr providers.Trace
		ctx := providers.WithTrace(t.Context(), &tr)
		if stream {
			first := true
			err := c.Stream(ctx, newRequest(true), func(providers.Chunk) error {
				// The proxy writes its headers with the first chunk: the
				// answering target must be known by then.
				if first && (tr.Target != "backup/m" || tr.Model != "backup-model") {
					t.Errorf("trace at first chunk = %q %q, want backup/m backup-model", tr.Target, tr.Model)
				}
				first = false
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		} else if _, err := c.Complete(ctx, newRequest(false)); err != nil {
			t.Fatal(err)
		}
		if tr.Target != "backup/m" || tr.Model != "backup-model" {
			t.Errorf("stream=%v: trace target = %q %q", stream, tr.Target, tr.Model)
		}
		want := []struct {
			target string
			status int
		}{{"primary/m", 503}, {"backup/m", 200}}
		if len(tr.Attempts) != len(want) {
			t.Fatalf("stream=%v: attempts = %+v", stream, tr.Attempts)
		}
		for i, w := range want {
			a := tr.Attempts[i]
			if a.Target != w.target || a.Status != w.status || (a.Err == nil) != (w.status == 200) || a.Duration <= 0 {
				t.Errorf("stream=%v: attempt %d = %+v, want %s %d", stream, i, a, w.target, w.status)
			}
		}
	}
}

func TestChainModelPerTarget(t *testing.T) {
	primary := providertest.OpenAI(t, providertest.Script{Status: 503})
	backup := providertest.OpenAI(t)
	c := &providers.Chain{Targets: []providers.Target{
		target("primary", primary.URL, primary.Client(), 0),
		target("backup", backup.URL, backup.Client(), 0),
	}}
	req := newRequest(false)
	resp, err := c.Complete(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Model != "backup-model" {
		t.Errorf("answer model = %q, want backup-model", resp.Model)
	}
	for _, u := range []struct {
		up   *providertest.Upstream
		want string
	}{{primary, "primary-model"}, {backup, "backup-model"}} {
		var body struct{ Model string }
		if err := json.Unmarshal(u.up.LastBody(), &body); err != nil || body.Model != u.want {
			t.Errorf("upstream got model %q (%v), want %q", body.Model, err, u.want)
		}
	}
	if req.Model != "auto" || string(req.Fields["model"]) != `"auto"` {
		t.Errorf("inbound request mutated: %q %s", req.Model, req.Fields["model"])
	}
}

// waitFor polls cond for up to 5s: the upstream learns of a closed
// connection asynchronously.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestChainCancel(t *testing.T) {
	tests := []struct {
		name    string
		primary providertest.Script
		stream  bool
		cancel  string // "timer" cancels after 50ms, "emit" on the first chunk
	}{
		{"during request", providertest.Script{Delay: 10 * time.Second}, false, "timer"},
		{"during stream request", providertest.Script{Delay: 10 * time.Second}, true, "timer"},
		{"mid stream", providertest.Script{Chunks: []string{"a", "b"}, ChunkDelay: 10 * time.Second}, true, "emit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			primary := providertest.OpenAI(t, tt.primary)
			backup := providertest.OpenAI(t)
			c := &providers.Chain{
				Targets: []providers.Target{target("primary", primary.URL, primary.Client(), 0), target("backup", backup.URL, backup.Client(), 0)},
				Retries: 2,
			}
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			if tt.cancel == "timer" {
				time.AfterFunc(50*time.Millisecond, cancel)
			}
			start := time.Now()
			var err error
			if tt.stream {
				err = c.Stream(ctx, newRequest(true), func(providers.Chunk) error {
					if tt.cancel == "emit" {
						cancel()
					}
					return nil
				})
			} else {
				_, err = c.Complete(ctx, newRequest(false))
			}
			if !errors.Is(err, context.Canceled) {
				t.Errorf("err = %v, want context.Canceled", err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %v to stop", d)
			}
			waitFor(t, "the upstream to see the request closed", func() bool { return primary.Canceled() == 1 })
			if primary.Requests() != 1 || backup.Requests() != 0 {
				t.Errorf("requests = %d and %d, want 1 and 0", primary.Requests(), backup.Requests())
			}
		})
	}
}

func TestChainCancelDuringBackoff(t *testing.T) {
	primary := providertest.OpenAI(t, providertest.Script{Status: 503, RetryAfter: "5"})
	c := &providers.Chain{Targets: []providers.Target{target("primary", primary.URL, primary.Client(), 0)}, Retries: 1}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Complete(ctx, newRequest(false))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v to stop", d)
	}
	if primary.Requests() != 1 {
		t.Errorf("primary got %d requests, want 1", primary.Requests())
	}
}

func TestChainEmpty(t *testing.T) {
	c := &providers.Chain{}
	if _, err := c.Complete(t.Context(), newRequest(false)); !errors.Is(err, providers.ErrNoTargets) {
		t.Errorf("Complete: err = %v, want ErrNoTargets", err)
	}
	if err := c.Stream(t.Context(), newRequest(true), nil); !errors.Is(err, providers.ErrNoTargets) {
		t.Errorf("Stream: err = %v, want ErrNoTargets", err)
	}
}

func TestChainEmitError(t *testing.T) {
	primary := providertest.OpenAI(t, providertest.Script{Chunks: []string{"a", "b"}})
	backup := providertest.OpenAI(t)
	c := &providers.Chain{
		Targets: []providers.Target{target("primary", primary.URL, primary.Client(), 0), target("backup", backup.URL, backup.Client(), 0)},
		Retries: 1,
	}
	errGone := errors.New("client gone")
	err := c.Stream(t.Context(), newRequest(true), func(providers.Chunk) error { return errGone })
	if err != errGone {
		t.Errorf("err = %v, want emit's error as is", err)
	}
	if primary.Requests() != 1 || backup.Requests() != 0 {
		t.Errorf("requests = %d and %d, want 1 and 0", primary.Requests(), backup.Requests())
	}
}
