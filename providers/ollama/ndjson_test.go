package ollama

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/switchyard-router/switchyard/providers/providertest"
)

func TestStreamLineBound(t *testing.T) {
	long := strings.Repeat("x", 5<<20)
	c, _ := fake(t, providertest.OllamaScript{Chunks: []string{"Hel", long, "lo"}})
	got, err := collect(t, t.Context(), c, request(true))
	wantError(t, err, http.StatusBadGateway, true, "reply line over 4194304 bytes")
	if len(got) != 1 || got[0].Text != "Hel" {
		t.Errorf("chunks %d, want the one before the long line", len(got))
	}

	c.MaxLine = 6 << 20
	got, err = collect(t, t.Context(), c, request(true))
	if err != nil || len(got) != 4 || got[1].Text != long {
		t.Errorf("MaxLine 6 MiB: %d chunks, err %v", len(got), err)
	}
}

// TestStreamEndlessLine: a line that never ends is read one byte past the
// bound, not to the api client's 8 MB, nor reported as a clean end.
func TestStreamEndlessLine(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-ndjson")
		io.WriteString(w, `{"model":"m","message":{"role":"assistant","content":"a"}}`+"\n")
		io.WriteString(w, `{"model":"m","message":{"role":"assistant","content":"`)
		x := []byte(strings.Repeat("x", 64<<10))
		for range 1024 { // 64 MiB, unless the client goes first
			if _, err := w.Write(x); err != nil {
				return
			}
		}
	}))
	t.Cleanup(up.Close)
	for _, max := range []int{0, 1 << 10} {
		hc := up.Client()
		counted := &countingTransport{next: hc.Transport}
		hc.Transport = counted
		c := New("local", up.URL, hc)
		c.MaxLine = max
		got, err := collect(t, t.Context(), c, request(true))
		if max == 0 {
			max = DefaultMaxLine
		}
		wantError(t, err, http.StatusBadGateway, true, "reply line over")
		first := len(`{"model":"m","message":{"role":"assistant","content":"a"}}` + "\n")
		if len(got) != 1 || counted.read > first+max+1 {
			t.Errorf("MaxLine %d: %d chunks, %d bytes read, want 1 chunk and at most %d bytes", max, len(got), counted.read, first+max+1)
		}
	}
}

// countingTransport counts the bytes read from the bodies it carries.
type countingTransport struct {
	next http.RoundTripper
	read int
}

func (t *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err == nil {
		resp.Body = &countingBody{ReadCloser: resp.Body, t: t}
	}
	return resp, err
}

type countingBody struct {
	io.ReadCloser
	t *countingTransport
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.t.read += n
	return n, err
}
