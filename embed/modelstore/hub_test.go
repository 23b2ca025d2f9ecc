package modelstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeHub serves a fixture the way huggingface.co does, at
// /<repo>/resolve/<revision>/<path>. intercept, when set, may answer a
// request itself (returning true), given how many times that path has been
// requested before, counting this one.
type fakeHub struct {
	t         testing.TB
	fx        fixture
	token     string // required bearer token; "" for none
	intercept func(w http.ResponseWriter, r *http.Request, path string, hit int) bool

	mu   sync.Mutex
	hits map[string]int
}

func (h *fakeHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	prefix := "/" + h.fx.m.Repo + "/resolve/" + h.fx.m.Revision + "/"
	if !strings.HasPrefix(r.URL.Path, prefix) {
		http.NotFound(w, r)
		return
	}
	p := strings.TrimPrefix(r.URL.Path, prefix)
	h.mu.Lock()
	if h.hits == nil {
		h.hits = make(map[string]int)
	}
	h.hits[p]++
	hit := h.hits[p]
	h.mu.Unlock()
	if h.token != "" && r.Header.Get("Authorization") != "Bearer "+h.token {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	if h.intercept != nil && h.intercept(w, r, p, hit) {
		return
	}
	b, ok := h.fx.data[p]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Write(b)
}

func (h *fakeHub) hitsFor(p string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.hits[p]
}

func (h *fakeHub) total() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, c := range h.hits {
		n += c
	}
	return n
}

// start serves h and returns a Hub client for it with a fast backoff.
func (h *fakeHub) start() *Hub {
	srv := httptest.NewServer(h)
	h.t.Cleanup(srv.Close)
	hub := NewHub(srv.Client())
	hub.BaseURL = srv.URL + "/" // a trailing slash must not matter
	hub.Backoff = time.Millisecond
	return hub
}

func TestHubPull(t *testing.T) {
	fx := newFixture(t)
	fake := &fakeHub{t: t, fx: fx, token: "hf_secret"}
	hub := fake.start()
	hub.Token = "hf_secret"
	dir := filepath.Join(t.TempDir(), "models", "tiny")

	var out bytes.Buffer
	if err := hub.Pull(t.Context(), dir, fx.m, &out); err != nil {
		t.Fatal(err)
	}
	fx.assertIntact(t, dir)
	assertNoPartials(t, dir)
	st, err := os.Stat(filepath.Join(dir, "weights.bin"))
	if err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("weights.bin: %v, mode %v", err, st.Mode())
	}

	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != len(fx.m.Files) {
		t.Fatalf("progress: want one line per file, got %q", out.String())
	}
	for i, f := range fx.m.Files {
		want := fmt.Sprintf("%s %s / %s 100%%", f.Path, formatBytes(f.Size), formatBytes(f.Size))
		if got := squash(lines[i]); !strings.HasPrefix(got, want) || !strings.HasSuffix(got, "/s ok") {
			t.Errorf("progress line %d = %q, want %q…/s  ok", i, lines[i], want)
		}
	}
	if strings.Contains(out.String(), "hf_secret") || strings.Contains(out.String(), "\r") {
		t.Errorf("progress leaks the token or redraws on a non-terminal: %q", out.String())
	}

	// A second pull finds everything intact and downloads nothing.
	before := fake.total()
	out.Reset()
	if err := hub.Pull(t.Context(), dir, fx.m, &out); err != nil {
		t.Fatal(err)
	}
	if fake.total() != before || strings.Count(out.String(), "already installed\n") != len(fx.m.Files) {
		t.Errorf("second pull made %d requests; output %q", fake.total()-before, out.String())
	}
}

func TestHubPullRefusesBadDownload(t *testing.T) {
	fx := newFixture(t)
	bad := bytes.Clone(fx.data["weights.bin"])
	bad[123] ^= 1
	fake := &fakeHub{t: t, fx: fx, intercept: func(w http.ResponseWriter, r *http.Request, p string, _ int) bool {
		if p != "weights.bin" {
			return false
		}
		w.Write(bad)
		return true
	}}
	hub := fake.start()
	dir := t.TempDir()
	old := []byte("the weights an older release installed")
	writeTree(t, dir, map[string][]byte{"weights.bin": old})

	err := hub.Pull(t.Context(), dir, fx.m, nil)
	want := fmt.Sprintf("weights.bin: sha256 mismatch: expected %s, got %s", fx.m.Files[0].SHA256, sum(bad))
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v\nwant it to contain %q", err, want)
	}
	if n := fake.hitsFor("weights.bin"); n != 1 {
		t.Errorf("a hash mismatch is not transient, but weights.bin was fetched %d times", n)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "weights.bin")); !bytes.Equal(got, old) {
		t.Error("the bad download replaced the existing file")
	}
	assertNoPartials(t, dir)
}

func TestHubPullNotFound(t *testing.T) {
	fx := newFixture(t)

	t.Run("required file", func(t *testing.T) {
		delete(fx.data, "tok.json")
		defer func() { fx = newFixture(t) }()
		fake := &fakeHub{t: t, fx: fx}
		hub := fake.start()
		err := hub.Pull(t.Context(), t.TempDir(), fx.m, nil)
		if err == nil || !strings.Contains(err.Error(), "tok.json") || !strings.Contains(err.Error(), "404 Not Found") {
			t.Fatalf("err = %v, want a 404 naming tok.json", err)
		}
		if n := fake.hitsFor("tok.json"); n != 1 {
			t.Errorf("404 retried: %d requests", n)
		}
	})

	t.Run("optional file", func(t *testing.T) {
		fx := newFixture(t)
		delete(fx.data, "sub/config.json")
		fake := &fakeHub{t: t, fx: fx}
		dir := t.TempDir()
		var out bytes.Buffer
		if err := fake.start().Pull(t.Context(), dir, fx.m, &out); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(squash(out.String()), "sub/config.json not in source: skipped (optional)") {
			t.Errorf("output = %q", out.String())
		}
		fx.assertIntact(t, dir)
	})

	t.Run("unauthorized", func(t *testing.T) {
		fake := &fakeHub{t: t, fx: fx, token: "right"}
		hub := fake.start()
		hub.Token = "wrong-secret"
		err := hub.Pull(t.Context(), t.TempDir(), fx.m, nil)
		if err == nil || !strings.Contains(err.Error(), "401") || strings.Contains(err.Error(), "wrong-secret") {
			t.Fatalf("err = %v, want a 401 without the token", err)
		}
	})
}

func TestHubPullRetries(t *testing.T) {
	fx := newFixture(t)
	size := len(fx.data["weights.bin"])

	tests := []struct {
		name      string
		fail      func(w http.ResponseWriter) // the first failing answers
		failures  int
		attempts  int
		wantErr   string // "" for success
		wantTries int
	}{
		{"500 then success", status(500), 1, 0, "", 2},
		{"429 then success", status(429), 1, 0, "", 2},
		{"connection reset mid-body then success", cutAfter(1000, size), 1, 0, "", 2},
		{"connection dropped before response then success", cutAfter(-1, size), 2, 0, "", 3},
		{"503 until out of attempts", status(503), 10, 3, "503 Service Unavailable", 3},
		{"400 is final", status(400), 10, 0, "400 Bad Request", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeHub{t: t, fx: fx, intercept: func(w http.ResponseWriter, r *http.Request, p string, hit int) bool {
				if p == "weights.bin" && hit <= tt.failures {
					tt.fail(w)
					return true
				}
				return false
			}}
			hub := fake.start()
			hub.Attempts = tt.attempts
			dir := t.TempDir()
			var out bytes.Buffer
			err := hub.Pull(t.Context(), dir, fx.m, &out)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				fx.assertIntact(t, dir)
				if !strings.Contains(squash(out.String()), "weights.bin attempt 1 of 4 failed, retrying in 1ms") {
					t.Errorf("output does not mention the retry: %q", out.String())
				}
			} else if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if n := fake.hitsFor("weights.bin"); n != tt.wantTries {
				t.Errorf("weights.bin requested %d times, want %d", n, tt.wantTries)
			}
			assertNoPartials(t, dir)
		})
	}
}

func status(code int) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) { http.Error(w, http.StatusText(code), code) }
}

// cutAfter promises size bytes, sends n of them, and drops the connection;
// n < 0 drops it before any response.
func cutAfter(n, size int) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err)
		}
		defer conn.Close()
		if n >= 0 {
			fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", size)
			buf.Write(make([]byte, n))
			buf.Flush()
		}
	}
}

func TestHubPullCancel(t *testing.T) {
	fx := newFixture(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	started := make(chan struct{})
	fake := &fakeHub{t: t, fx: fx, intercept: func(w http.ResponseWriter, r *http.Request, p string, _ int) bool {
		if p != "weights.bin" {
			return false
		}
		b := fx.data[p]
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		w.Write(b[:len(b)/2])
		w.(http.Flusher).Flush()
		close(started)
		<-r.Context().Done() // the rest never comes
		return true
	}}
	hub := fake.start()
	dir := t.TempDir()
	go func() {
		<-started
		cancel()
	}()
	done := make(chan error, 1)
	go func() { done <- hub.Pull(ctx, dir, fx.m, nil) }()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Pull did not return after cancellation")
	}
	if n := fake.hitsFor("weights.bin"); n != 1 {
		t.Errorf("retried after cancellation: %d requests", n)
	}
	if _, err := os.Stat(filepath.Join(dir, "weights.bin")); !os.IsNotExist(err) {
		t.Errorf("weights.bin exists after a cancelled download: %v", err)
	}
	assertNoPartials(t, dir)
}

func TestHubFileURL(t *testing.T) {
	m := MiniLM()
	got := (&Hub{}).fileURL(m, File{Path: "1_Pooling/config.json"})
	want := "https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2/resolve/1110a243fdf4706b3f48f1d95db1a4f5529b4d41/1_Pooling/config.json"
	if got != want {
		t.Errorf("fileURL = %s\nwant %s", got, want)
	}
	if err := (&Hub{}).Pull(t.Context(), t.TempDir(), m, nil); err == nil {
		t.Error("Pull without a client succeeded")
	}
	for _, base := range []string{"huggingface.co", "ftp://mirror", "https://"} {
		h := NewHub(&http.Client{}) // never used: the URL is refused first
		h.BaseURL = base
		if err := h.Pull(t.Context(), t.TempDir(), m, nil); err == nil || !strings.Contains(err.Error(), "not an http(s) URL") {
			t.Errorf("BaseURL %q: err = %v", base, err)
		}
	}
}

// squash collapses runs of spaces, which only line up columns.
func squash(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.Join(strings.Fields(l), " ")
	}
	return strings.Join(lines, "\n")
}
