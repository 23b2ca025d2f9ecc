package modelstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultHubURL is the Hugging Face Hub.
const DefaultHubURL = "https://huggingface.co"

// Hub downloads model files from the Hugging Face Hub, or from a mirror that
// serves the same <base>/<repo>/resolve/<revision>/<path> URLs. A Hub is not
// modified by Pull and is safe for concurrent use.
type Hub struct {
	// Client makes the requests. Give it no Timeout: the caller's ctx bounds
	// a download, which may legitimately take minutes on a slow link.
	Client *http.Client
	// BaseURL is the Hub's address, as in HF_ENDPOINT; "" means DefaultHubURL.
	BaseURL string
	// Token, when set, is sent as a bearer token (the HF_TOKEN value) for
	// gated or private repositories. It never appears in errors or output.
	// Go's client drops it on redirects to another host, such as the CDN
	// that serves the large files.
	Token string
	// Attempts is how many times one file is tried when a failure may be
	// transient (5xx, 408, 429, a connection error, a body cut short);
	// 0 means 4.
	Attempts int
	// Backoff is the wait before the second try, doubled before each try
	// after that; 0 means 1s.
	Backoff time.Duration
}

// NewHub returns a Hub that downloads through client from DefaultHubURL.
func NewHub(client *http.Client) *Hub {
	return &Hub{Client: client}
}

// Pull installs the files of m into dir from the revision m pins. Files that
// are already intact are not downloaded again; optional files the Hub lacks
// (404) are skipped. Each file streams to a temporary file next to its final
// place, with progress on progress (nil for none), and replaces the old one
// only after its size and SHA-256 match the pin.
func (h *Hub) Pull(ctx context.Context, dir string, m Manifest, progress io.Writer) error {
	if h.Client == nil {
		return errors.New("pull from hub: no http client")
	}
	// A malformed base URL would otherwise look like a network error and be
	// retried with backoff before failing.
	if u, err := url.Parse(h.base()); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("pull from hub: base URL %q is not an http(s) URL", h.base())
	}
	err := install(ctx, dir, m, progress, func(ctx context.Context, f File, out *output) error {
		return h.fetch(ctx, dir, m, f, out)
	})
	if err != nil {
		return fmt.Errorf("pull %s from %s: %w", m.Name, h.base(), err)
	}
	return nil
}

func (h *Hub) base() string {
	if h.BaseURL == "" {
		return DefaultHubURL
	}
	return strings.TrimRight(h.BaseURL, "/")
}

// fileURL is <base>/<repo>/resolve/<revision>/<path>, each segment escaped.
func (h *Hub) fileURL(m Manifest, f File) string {
	var b strings.Builder
	b.WriteString(h.base())
	for _, s := range strings.Split(m.Repo, "/") {
		b.WriteString("/" + url.PathEscape(s))
	}
	b.WriteString("/resolve/" + url.PathEscape(m.Revision))
	for _, s := range strings.Split(f.Path, "/") {
		b.WriteString("/" + url.PathEscape(s))
	}
	return b.String()
}

// fetch downloads f, trying again after transient failures.
func (h *Hub) fetch(ctx context.Context, dir string, m Manifest, f File, out *output) error {
	attempts := h.Attempts
	if attempts <= 0 {
		attempts = 4
	}
	wait := h.Backoff
	if wait <= 0 {
		wait = time.Second
	}
	for try := 1; ; try++ {
		err := h.fetchOnce(ctx, dir, m, f, out)
		if err == nil || ctx.Err() != nil || !transient(err) || try >= attempts {
			return err
		}
		out.printf("%s  attempt %d of %d failed, retrying in %s: %v", out.name(f.Path), try, attempts, wait, err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		wait *= 2
	}
}

func (h *Hub) fetchOnce(ctx context.Context, dir string, m Manifest, f File, out *output) error {
	u := h.fileURL(m, f)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "switchyard-modelstore")
	if h.Token != "" {
		req.Header.Set("Authorization", "Bearer "+h.Token)
	}
	resp, err := h.Client.Do(req)
	if err != nil {
		// Do's errors name the URL, which holds no secret.
		return &transientError{err}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		// Drain a little so the connection can be reused for the next try.
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return statusError(u, resp.StatusCode)
	}
	err = writeFile(ctx, dir, f, resp.Body, out)
	if re := (*readError)(nil); errors.As(err, &re) && ctx.Err() == nil {
		return &transientError{fmt.Errorf("get %s: %w", u, err)}
	}
	return err
}

func statusError(u string, code int) error {
	err := fmt.Errorf("get %s: %d %s", u, code, http.StatusText(code))
	switch {
	case code == http.StatusNotFound:
		return &notInSourceError{err}
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return fmt.Errorf("%w (the repository may be gated: set a token)", err)
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500:
		return &transientError{err}
	}
	return err
}

// transientError marks a failure that another try may not repeat.
type transientError struct{ err error }

func (e *transientError) Error() string { return e.err.Error() }
func (e *transientError) Unwrap() error { return e.err }

func transient(err error) bool {
	var t *transientError
	return errors.As(err, &t)
}

// notInSourceError is a 404: it matches errNotInSource, so a missing optional
// file is skipped, while keeping the URL and status in the message.
type notInSourceError struct{ err error }

func (e *notInSourceError) Error() string        { return e.err.Error() }
func (e *notInSourceError) Unwrap() error        { return e.err }
func (e *notInSourceError) Is(target error) bool { return target == errNotInSource }
