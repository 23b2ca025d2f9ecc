package ollama

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/ollama/ollama/api"
)

// DefaultMaxLine bounds one line of a streamed reply when Client.MaxLine
// is zero: 4 MiB.
const DefaultMaxLine = 4 << 20

// chat is Chat on an api client whose reply lines are bounded by MaxLine.
// The api client's own bound is 8 MB, and it reports a line over it, as
// any read error, as the reply's clean end; this bound is reported as
// itself, once at most a byte past it has been read.
func (c *Client) chat(ctx context.Context, cr *api.ChatRequest, fn api.ChatResponseFunc) error {
	t := &lineLimiter{next: c.hc.Transport, max: c.MaxLine}
	if t.next == nil {
		t.next = http.DefaultTransport // what a nil Transport means
	}
	if t.max <= 0 {
		t.max = DefaultMaxLine
	}
	hc := *c.hc
	hc.Transport = t
	err := api.NewClient(c.base, &hc).Chat(ctx, cr, fn)
	if t.err != nil {
		return t.err
	}
	return err
}

// lineLimiter carries one call's requests and bounds each line of the
// bodies of their responses, keeping the error of the first line over
// the bound. The call reads the body in the goroutine that sent the
// request, so err needs no lock.
type lineLimiter struct {
	next http.RoundTripper
	max  int // bytes in a line, its LF not counted
	err  error
}

func (t *lineLimiter) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	resp.Body = &lineBody{ReadCloser: resp.Body, t: t}
	return resp, nil
}

type lineBody struct {
	io.ReadCloser
	t *lineLimiter
	n int // bytes since the last LF
}

func (b *lineBody) Read(p []byte) (int, error) {
	if b.t.err != nil {
		return 0, b.t.err
	}
	// Never read more than one byte past the bound of the line going on.
	p = p[:min(len(p), b.t.max-b.n+1)]
	k, err := b.ReadCloser.Read(p)
	for rest := p[:k]; len(rest) > 0; {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			i = len(rest)
		}
		if b.n+i > b.t.max {
			b.t.err = fmt.Errorf("reply line over %d bytes", b.t.max)
			return k - len(rest) + b.t.max - b.n, b.t.err
		}
		if i == len(rest) {
			b.n += i
			break
		}
		b.n = 0
		rest = rest[i+1:]
	}
	return k, err
}
