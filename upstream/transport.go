// Package upstream is the HTTP transport switchyard's providers reach
// their upstreams through.
//
// net/http's Transport serves every request through two goroutines per
// connection (one writes requests, one reads answers) and hands each
// request to them over channels: about a third of what a proxied request
// costs a Go gateway in user time. Transport keeps that machinery for
// what needs it (TLS and HTTP/2, proxies from the environment) and sends
// the rest, plain HTTP/1.1 to a cleartext upstream such as a local
// inference server, on the calling goroutine: it writes the request with
// net/http's own Request.Write, reads the answer with http.ReadResponse,
// and keeps the connection for the next request once the answer's body
// has been read to its end.
package upstream

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"syscall"
	"time"
)

// Transport is an http.RoundTripper. The zero value is not usable: make
// one with New. Safe for concurrent use.
type Transport struct {
	// Fallback serves what the lean path does not: https, a proxy, a
	// request that asks for a protocol upgrade or 100-continue.
	Fallback http.RoundTripper
	// Proxy picks a proxy for a request, as http.Transport's; nil means
	// none. A request with a proxy goes to Fallback.
	Proxy func(*http.Request) (*url.URL, error)
	// Dial opens connections; nil means a net.Dialer with a 10 s timeout
	// and 30 s keep-alives.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// MaxIdlePerHost bounds the idle connections kept per host:port; 0
	// means 64.
	MaxIdlePerHost int
	// IdleTimeout closes a connection idle for longer; 0 means 90 s.
	IdleTimeout time.Duration

	mu   sync.Mutex
	idle map[string][]*conn // per host:port, the most recently used last
	// checkAfter: a connection idle for longer is checked for a close
	// from its server before it is used again (see conn.alive).
	checkAfter time.Duration
	sweeping   bool // a sweep of the idle connections is due
}

// New returns a Transport that sends what it cannot serve itself to
// fallback, picking proxies with proxy (nil for none).
func New(fallback http.RoundTripper, proxy func(*http.Request) (*url.URL, error)) *Transport {
	return &Transport{Fallback: fallback, Proxy: proxy}
}

// conn is one kept-alive connection to an upstream.
type conn struct {
	t    *Transport
	key  string
	nc   net.Conn
	cr   countingReader
	br   *bufio.Reader
	bw   *bufio.Writer
	used time.Time // when it was last put back idle
	// reused: it has served a request before this one, so an error
	// before the first byte of an answer may be its server having closed
	// it while it was idle.
	reused bool
}

// countingReader counts what the connection has read and, while an
// answer's head is read, stops at limit.
type countingReader struct {
	r     io.Reader
	n     int64
	limit int64 // 0: none
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.limit > 0 {
		left := c.limit - c.n
		if left <= 0 {
			return 0, errHeadTooLong
		}
		if int64(len(p)) > left {
			p = p[:left]
		}
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// MaxHeadBytes bounds an answer's status line and headers, as
// http.Transport's MaxResponseHeaderBytes does: an upstream that sends
// headers without end is cut off there.
const MaxHeadBytes = 1 << 20

var errHeadTooLong = errors.New("upstream: answer headers over 1 MiB")

// lean reports whether r is for the lean path.
func (t *Transport) lean(r *http.Request) bool {
	if r.URL == nil || r.URL.Scheme != "http" || r.URL.Host == "" || r.URL.User != nil {
		return false
	}
	h := r.Header
	if len(h["Expect"]) > 0 || len(h["Upgrade"]) > 0 || len(h["Connection"]) > 0 {
		return false
	}
	if t.Proxy != nil {
		if p, err := t.Proxy(r); err != nil || p != nil {
			return false
		}
	}
	return true
}

// RoundTrip sends r and returns the upstream's answer; its body must be
// read to the end or closed (a body read to its end returns the
// connection to the pool).
func (t *Transport) RoundTrip(r *http.Request) (*http.Response, error) {
	if !t.lean(r) {
		return t.Fallback.RoundTrip(r)
	}
	ctx := r.Context()
	if err := ctx.Err(); err != nil {
		closeBody(r)
		return nil, err
	}
	key := canonicalAddr(r.URL)
	for retried := false; ; retried = true {
		c, err := t.get(ctx, key)
		if err != nil {
			closeBody(r)
			return nil, err
		}
		resp, err := c.exchange(ctx, r)
		if err == nil {
			return resp, nil
		}
		var stale staleError
		if !errors.As(err, &stale) {
			return nil, err
		}
		// A connection its server closed while it sat idle fails before
		// the answer's first byte; the request went nowhere, so it is sent
		// again, once, on a new connection, when its body can be read
		// again.
		if retried || ctx.Err() != nil || (r.Body != nil && r.Body != http.NoBody && r.GetBody == nil) {
			return nil, stale.err
		}
		if r.GetBody != nil {
			body, gerr := r.GetBody()
			if gerr != nil {
				return nil, stale.err
			}
			r = r.Clone(ctx) // a RoundTripper must not change its request
			r.Body = body
		}
	}
}

// staleError is an error on a reused connection before any byte of the
// answer arrived: its server may have closed it while it was idle.
type staleError struct{ err error }

func (e staleError) Error() string { return e.err.Error() }
func (e staleError) Unwrap() error { return e.err }

// exchange writes r on c and reads the answer's head. On success the
// connection belongs to the answer's body until it ends.
func (c *conn) exchange(ctx context.Context, r *http.Request) (*http.Response, error) {
	// A cancelled request ends its connection's reads and writes at once;
	// a connection whose cancellation fired is never reused (stop reports
	// false), so nothing waits for the deadline to be in place.
	stop := context.AfterFunc(ctx, func() { c.nc.SetDeadline(aLongTimeAgo) })
	fail := func(err error) (*http.Response, error) {
		if !stop() {
			err = ctx.Err()
		}
		c.nc.Close()
		return nil, err
	}
	start := c.cr.n
	err := r.Write(c.bw)
	if err == nil {
		err = c.bw.Flush()
	}
	keep := !r.Close
	if err != nil {
		if ctx.Err() != nil || c.cr.n != start {
			return fail(c.classify(err, start))
		}
		// An upstream may answer before it has read the whole body (a 413
		// for one too large) and close: its answer, if it comes at once,
		// is the request's, on a connection not to be reused.
		c.nc.SetReadDeadline(time.Now().Add(earlyAnswerWait))
		if _, perr := c.br.Peek(1); perr != nil {
			return fail(c.classify(err, start))
		}
		c.nc.SetReadDeadline(time.Time{})
		keep = false
	}
	var resp *http.Response
	for {
		c.cr.limit = c.cr.n + MaxHeadBytes
		resp, err = http.ReadResponse(c.br, r)
		c.cr.limit = 0
		if err != nil {
			return fail(c.classify(err, start))
		}
		// 1xx answers other than 101 come before the real one.
		if resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			break
		}
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		resp.Body.Close()
		return fail(errors.New("upstream: unexpected 101 Switching Protocols"))
	}
	resp.Body = &body{rc: resp.Body, c: c, ctx: ctx, stop: stop, keep: keep && !resp.Close}
	return resp, nil
}

// classify marks err as stale when c was reused and nothing of the
// answer has arrived.
func (c *conn) classify(err error, start int64) error {
	if c.reused && c.cr.n == start && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)) {
		return staleError{err}
	}
	return err
}

// body is an answer's body; it gives its connection back at its end.
// Close may be called while a Read is blocked (it ends the Read).
type body struct {
	rc   io.ReadCloser
	c    *conn
	ctx  context.Context
	stop func() bool
	keep bool // the connection may serve another request

	mu     sync.Mutex
	done   bool // released: at its end, failed or closed
	eof    bool
	closed bool
}

func (b *body) Read(p []byte) (int, error) {
	b.mu.Lock()
	done, eof, closed := b.done, b.eof, b.closed
	b.mu.Unlock()
	switch {
	case closed:
		return 0, errBodyClosed
	case eof:
		return 0, io.EOF
	case done:
		return 0, errBodyFailed
	}
	n, err := b.rc.Read(p)
	if err == nil {
		return n, nil
	}
	b.mu.Lock()
	if b.done { // closed while this Read waited
		b.mu.Unlock()
		return n, errBodyClosed
	}
	b.done = true
	b.eof = err == io.EOF
	b.mu.Unlock()
	if err == io.EOF {
		b.release(b.keep)
		return n, err
	}
	if b.ctx.Err() != nil {
		err = b.ctx.Err()
	}
	b.release(false)
	return n, err
}

var (
	errBodyClosed = errors.New("http: read on closed response body")
	errBodyFailed = errors.New("upstream: read after a failed read of the response body")
)

// Close ends the answer; a body not read to its end closes its
// connection.
func (b *body) Close() error {
	b.mu.Lock()
	b.closed = true
	if b.done {
		b.mu.Unlock()
		return nil
	}
	b.done = true
	b.mu.Unlock()
	b.release(false)
	return nil
}

// release ends the exchange: the connection goes back to the pool when
// keep and its cancellation never fired, else it is closed.
func (b *body) release(keep bool) {
	if !b.stop() {
		keep = false // its cancellation fired: a deadline in the past
	}
	if !keep {
		b.c.nc.Close() // first: closing the body would drain it
		b.rc.Close()
		return
	}
	b.rc.Close() // at its end: nothing left to drain
	b.c.t.put(b.c)
}

var aLongTimeAgo = time.Unix(1, 0)

// earlyAnswerWait is how long a request whose body could not be sent
// waits for an answer the upstream may have sent before closing.
const earlyAnswerWait = 250 * time.Millisecond

func closeBody(r *http.Request) {
	if r.Body != nil {
		r.Body.Close()
	}
}

// get returns an idle connection to key, or dials one.
func (t *Transport) get(ctx context.Context, key string) (*conn, error) {
	idleFor, check := t.idleTimeout(), t.checkAge()
	now := time.Now()
	t.mu.Lock()
	for {
		list := t.idle[key]
		if len(list) == 0 {
			break
		}
		c := list[len(list)-1]
		list[len(list)-1] = nil
		t.idle[key] = list[:len(list)-1]
		age := now.Sub(c.used)
		if age > idleFor {
			t.mu.Unlock()
			c.nc.Close()
			t.mu.Lock()
			continue
		}
		t.mu.Unlock()
		if age > check && !c.alive() {
			c.nc.Close()
			t.mu.Lock()
			continue
		}
		c.reused = true
		return c, nil
	}
	t.mu.Unlock()
	return t.dial(ctx, key)
}

func (t *Transport) dial(ctx context.Context, key string) (*conn, error) {
	dial := t.Dial
	if dial == nil {
		dial = defaultDialer.DialContext
	}
	nc, err := dial(ctx, "tcp", key)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	c := &conn{t: t, key: key, nc: nc}
	c.cr.r = nc
	c.br = bufio.NewReaderSize(&c.cr, 4<<10)
	c.bw = bufio.NewWriterSize(nc, 4<<10)
	return c, nil
}

var defaultDialer = &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}

// put keeps c idle for the next request to its host, or closes it when
// the pool for its host is full.
func (t *Transport) put(c *conn) {
	max := t.MaxIdlePerHost
	if max <= 0 {
		max = 64
	}
	c.used = time.Now()
	t.mu.Lock()
	if t.idle == nil {
		t.idle = make(map[string][]*conn)
	}
	if len(t.idle[c.key]) < max {
		t.idle[c.key] = append(t.idle[c.key], c)
		if !t.sweeping {
			t.sweeping = true
			time.AfterFunc(t.sweepEvery(), t.sweep)
		}
		t.mu.Unlock()
		return
	}
	t.mu.Unlock()
	c.nc.Close()
}

func (t *Transport) idleTimeout() time.Duration {
	if t.IdleTimeout > 0 {
		return t.IdleTimeout
	}
	return 90 * time.Second
}

func (t *Transport) checkAge() time.Duration {
	if t.checkAfter > 0 {
		return t.checkAfter
	}
	return time.Second
}

// sweepEvery is how often idle connections are swept while there are
// some: a third of IdleTimeout, at most 5 s.
func (t *Transport) sweepEvery() time.Duration {
	return min(t.idleTimeout()/3, 5*time.Second)
}

// sweep closes the idle connections that have been idle too long or
// that their servers have closed (which would otherwise sit half-closed
// until their next use), and schedules the next sweep while some remain.
// Only connections idle for longer than the check age leave the pool
// while they are looked at: a busy pool stays whole.
func (t *Transport) sweep() {
	idleFor, check := t.idleTimeout(), t.checkAge()
	now := time.Now()
	var old []*conn
	t.mu.Lock()
	for key, list := range t.idle {
		kept := list[:0]
		for _, c := range list {
			if now.Sub(c.used) > check {
				old = append(old, c)
			} else {
				kept = append(kept, c)
			}
		}
		clear(list[len(kept):])
		if len(kept) == 0 {
			delete(t.idle, key)
		} else {
			t.idle[key] = kept
		}
	}
	t.mu.Unlock()
	back := old[:0]
	for _, c := range old {
		if now.Sub(c.used) > idleFor || !c.alive() {
			c.nc.Close()
			continue
		}
		back = append(back, c)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(back) > 0 && t.idle == nil {
		t.idle = make(map[string][]*conn)
	}
	for _, c := range back {
		// Older than every connection left in the pool: first, so that
		// the most recently used is taken next.
		t.idle[c.key] = append([]*conn{c}, t.idle[c.key]...)
	}
	n := 0
	for _, list := range t.idle {
		n += len(list)
	}
	t.sweeping = n > 0
	if t.sweeping {
		time.AfterFunc(t.sweepEvery(), t.sweep)
	}
}

// CloseIdleConnections closes the idle connections, and the fallback's.
func (t *Transport) CloseIdleConnections() {
	t.mu.Lock()
	idle := t.idle
	t.idle = nil
	t.mu.Unlock()
	for _, list := range idle {
		for _, c := range list {
			c.nc.Close()
		}
	}
	if ci, ok := t.Fallback.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

// alive reports whether an idle connection is still open: its server
// may have closed it (most close idle connections after a few seconds),
// which shows as an end of stream waiting to be read, or it may have
// sent something unasked, which makes it unusable too.
func (c *conn) alive() bool {
	if c.br.Buffered() > 0 {
		return false
	}
	sc, ok := c.nc.(syscall.Conn)
	if !ok {
		return true
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	open := true
	var buf [1]byte
	err = raw.Read(func(fd uintptr) bool {
		_, _, err := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		// Nothing to read (EAGAIN) is the one healthy answer: an end of
		// stream reads 0 bytes, unasked data 1.
		open = err == syscall.EAGAIN || err == syscall.EWOULDBLOCK
		return true
	})
	return err == nil && open
}

// canonicalAddr is u's host:port, port 80 when it names none.
func canonicalAddr(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	return net.JoinHostPort(u.Hostname(), "80")
}
