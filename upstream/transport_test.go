package upstream

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// counted is an httptest server that counts the connections it accepts.
type counted struct {
	*httptest.Server
	conns atomic.Int64
}

func newCounted(t *testing.T, h http.HandlerFunc) *counted {
	return newCountedIdle(t, h, 0)
}

// newCountedIdle is newCounted with the server's IdleTimeout.
func newCountedIdle(t *testing.T, h http.HandlerFunc, idle time.Duration) *counted {
	t.Helper()
	c := &counted{}
	c.Server = httptest.NewUnstartedServer(h)
	c.Config.IdleTimeout = idle
	c.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			c.conns.Add(1)
		}
	}
	c.Start()
	t.Cleanup(c.Close)
	return c
}

// refuse is a fallback that fails every request it gets, counting them.
type refuse struct{ n atomic.Int64 }

func (f *refuse) RoundTrip(r *http.Request) (*http.Response, error) {
	f.n.Add(1)
	return nil, errors.New("fallback")
}

func post(t *testing.T, tr http.RoundTripper, ctx context.Context, u, body string) (*http.Response, error) {
	t.Helper()
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/json")
	return tr.RoundTrip(r)
}

func echo(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"path":%q,"body":%q}`, r.URL.Path, b)
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestKeepsConnectionsAlive(t *testing.T) {
	srv := newCounted(t, echo)
	fb := &refuse{}
	tr := New(fb, nil)
	defer tr.CloseIdleConnections()
	for i := range 20 {
		resp, err := post(t, tr, context.Background(), srv.URL+"/v1/chat", fmt.Sprintf(`{"n":%d}`, i))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := readAll(t, resp), fmt.Sprintf(`{"path":"/v1/chat","body":"{\"n\":%d}"}`, i); got != want {
			t.Fatalf("answer %d = %s, want %s", i, got, want)
		}
	}
	if n := srv.conns.Load(); n != 1 {
		t.Fatalf("20 sequential requests opened %d connections, want 1", n)
	}
	if fb.n.Load() != 0 {
		t.Fatal("a cleartext request went to the fallback")
	}
}

func TestConcurrentRequests(t *testing.T) {
	srv := newCounted(t, echo)
	tr := New(&refuse{}, nil)
	defer tr.CloseIdleConnections()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				body := fmt.Sprintf(`{"g":%d,"i":%d}`, g, i)
				resp, err := post(t, tr, context.Background(), srv.URL+"/x", body)
				if err != nil {
					errs <- err
					return
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if want := fmt.Sprintf(`{"path":"/x","body":%q}`, body); err != nil || string(b) != want {
					errs <- fmt.Errorf("got %s (%v), want %s", b, err, want)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := srv.conns.Load(); n > 16 {
		t.Fatalf("16 concurrent clients opened %d connections, want at most 16", n)
	}
}

func TestStreamsAsItArrives(t *testing.T) {
	next := make(chan struct{})
	srv := newCounted(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range 3 {
			fmt.Fprintf(w, "data: %d\n\n", i)
			w.(http.Flusher).Flush()
			if i < 2 {
				select {
				case <-next:
				case <-r.Context().Done():
					return
				}
			}
		}
	})
	tr := New(&refuse{}, nil)
	defer tr.CloseIdleConnections()
	resp, err := post(t, tr, context.Background(), srv.URL, `{}`)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.TransferEncoding) != 1 || resp.TransferEncoding[0] != "chunked" {
		t.Fatalf("transfer encoding %v, want chunked", resp.TransferEncoding)
	}
	br := bufio.NewReader(resp.Body)
	for i := range 3 {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("data: %d\n", i); line != want {
			t.Fatalf("event %d = %q, want %q", i, line, want)
		}
		br.ReadString('\n')
		if i < 2 {
			next <- struct{}{} // the server sends the next event only now
		}
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("after the last event: %v, want EOF", err)
	}
	resp.Body.Close()
	// Read to its end, the connection serves the next request.
	resp, err = post(t, tr, context.Background(), srv.URL, `{}`)
	if err != nil {
		t.Fatal(err)
	}
	go func() { next <- struct{}{}; next <- struct{}{} }()
	readAll(t, resp)
	if n := srv.conns.Load(); n != 1 {
		t.Fatalf("%d connections, want 1", n)
	}
}

func TestCancelWhileWaitingForHeaders(t *testing.T) {
	gone := make(chan struct{})
	srv := newCounted(t, func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body) // net/http notices a closed connection after the body
		<-r.Context().Done()
		close(gone)
	})
	tr := New(&refuse{}, nil)
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err := post(t, tr, ctx, srv.URL, `{}`)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	select {
	case <-gone:
	case <-time.After(5 * time.Second):
		t.Fatal("the upstream never saw the connection close")
	}
}

func TestCancelWhileReadingTheBody(t *testing.T) {
	gone := make(chan struct{})
	srv := newCounted(t, func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body)
		io.WriteString(w, "data: first\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		close(gone)
	})
	tr := New(&refuse{}, nil)
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithCancel(context.Background())
	resp, err := post(t, tr, ctx, srv.URL, `{}`)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	if n, err := resp.Body.Read(buf); err != nil || !strings.HasPrefix(string(buf[:n]), "data: first") {
		t.Fatalf("first read %q, %v", buf[:n], err)
	}
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err = io.ReadAll(resp.Body)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("reading after cancel: %v, want context.Canceled", err)
	}
	resp.Body.Close()
	select {
	case <-gone:
	case <-time.After(5 * time.Second):
		t.Fatal("the upstream never saw the connection close")
	}
	// The cancelled connection is not reused.
	resp, err = post(t, tr, context.Background(), srv.URL, `{}`)
	if err == nil {
		resp.Body.Close()
	}
	if n := srv.conns.Load(); n != 2 {
		t.Fatalf("%d connections, want 2 (a cancelled one is never reused)", n)
	}
}

func TestCloseWhileReadBlocks(t *testing.T) {
	srv := newCounted(t, func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body)
		io.WriteString(w, "x")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	tr := New(&refuse{}, nil)
	defer tr.CloseIdleConnections()
	resp, err := post(t, tr, context.Background(), srv.URL, `{}`)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := io.ReadAll(resp.Body)
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	resp.Body.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("a read ended by Close returned no error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end a blocked read")
	}
	if _, err := resp.Body.Read(make([]byte, 1)); !errors.Is(err, errBodyClosed) {
		t.Fatalf("read after close: %v", err)
	}
}

func TestUnreadBodyClosesTheConnection(t *testing.T) {
	srv := newCounted(t, func(w http.ResponseWriter, r *http.Request) {
		w.Write(bytes.Repeat([]byte("a"), 64<<10))
	})
	sendThree(t, srv, func(resp *http.Response) {
		resp.Body.Read(make([]byte, 10))
		resp.Body.Close() // 64 KiB unread: never drained, never reused
	})
}

// sendThree sends srv three requests, hands each answer to use, and
// checks that each took a connection of its own.
func sendThree(t *testing.T, srv *counted, use func(*http.Response)) {
	t.Helper()
	tr := New(&refuse{}, nil)
	defer tr.CloseIdleConnections()
	for range 3 {
		resp, err := post(t, tr, context.Background(), srv.URL, `{}`)
		if err != nil {
			t.Fatal(err)
		}
		use(resp)
	}
	if n := srv.conns.Load(); n != 3 {
		t.Fatalf("%d connections, want 3: none could be reused", n)
	}
}

func TestConnectionCloseIsHonoured(t *testing.T) {
	srv := newCounted(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		io.WriteString(w, "ok")
	})
	sendThree(t, srv, func(resp *http.Response) {
		if got := readAll(t, resp); got != "ok" {
			t.Fatalf("answer %q", got)
		}
	})
}

// TestServerClosedIdleConnection covers an upstream that closes idle
// connections (uvicorn after 5 s, Node after 5 s): both the check of a
// connection idle for long, and, with the check off, the retry of a
// request whose reused connection turns out closed.
func TestServerClosedIdleConnection(t *testing.T) {
	for _, check := range []time.Duration{time.Millisecond, time.Hour} {
		t.Run(fmt.Sprint("check after ", check), func(t *testing.T) {
			var bodies atomic.Int64
			srv := newCountedIdle(t, func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				if string(b) == `{"full":"body"}` {
					bodies.Add(1)
				}
				io.WriteString(w, "ok")
			}, 20*time.Millisecond)
			tr := New(&refuse{}, nil)
			tr.checkAfter = check
			defer tr.CloseIdleConnections()
			for i := range 3 {
				r, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader([]byte(`{"full":"body"}`)))
				resp, err := tr.RoundTrip(r)
				if err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
				if got := readAll(t, resp); got != "ok" {
					t.Fatalf("answer %q", got)
				}
				time.Sleep(100 * time.Millisecond) // the server closes it meanwhile
			}
			if n := bodies.Load(); n != 3 {
				t.Fatalf("the upstream got %d whole bodies, want 3", n)
			}
			if n := srv.conns.Load(); n != 3 {
				t.Fatalf("%d connections, want 3", n)
			}
		})
	}
}

func TestWhatGoesToTheFallback(t *testing.T) {
	srv := newCounted(t, echo)
	proxyURL, _ := url.Parse("http://proxy.invalid:3128")
	cases := []struct {
		name  string
		url   string
		proxy func(*http.Request) (*url.URL, error)
		hdr   string
		fall  bool
	}{
		{"cleartext", srv.URL, nil, "", false},
		{"https", strings.Replace(srv.URL, "http:", "https:", 1), nil, "", true},
		{"proxied", srv.URL, func(*http.Request) (*url.URL, error) { return proxyURL, nil }, "", true},
		{"100-continue", srv.URL, nil, "Expect", true},
		{"upgrade", srv.URL, nil, "Upgrade", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fb := &refuse{}
			tr := New(fb, c.proxy)
			defer tr.CloseIdleConnections()
			r, _ := http.NewRequest(http.MethodPost, c.url, strings.NewReader(`{}`))
			if c.hdr != "" {
				r.Header.Set(c.hdr, "x")
			}
			resp, err := tr.RoundTrip(r)
			if err == nil {
				readAll(t, resp)
			}
			if got := fb.n.Load() == 1; got != c.fall {
				t.Fatalf("went to the fallback: %v, want %v (err %v)", got, c.fall, err)
			}
		})
	}
}

// rawServer answers every connection's first request with answer, as
// bytes on the wire.
func rawServer(t *testing.T, answer string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r, err := http.ReadRequest(bufio.NewReader(c))
				if err != nil {
					return
				}
				io.Copy(io.Discard, r.Body)
				io.WriteString(c, answer)
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

func TestInformationalAnswersAreSkipped(t *testing.T) {
	u := rawServer(t, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"+
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	tr := New(&refuse{}, nil)
	defer tr.CloseIdleConnections()
	resp, err := post(t, tr, context.Background(), u, `{}`)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || readAll(t, resp) != "ok" {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

func TestBodyToTheEndOfTheConnection(t *testing.T) {
	// No length and not chunked: the body ends with the connection,
	// which cannot serve another request.
	u := rawServer(t, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end")
	tr := New(&refuse{}, nil)
	defer tr.CloseIdleConnections()
	resp, err := post(t, tr, context.Background(), u, `{}`)
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, resp); got != "until the end" {
		t.Fatalf("body %q", got)
	}
	tr.mu.Lock()
	idle := len(tr.idle)
	tr.mu.Unlock()
	if idle != 0 {
		t.Fatal("a connection whose body ran to its close was kept")
	}
}

func TestReadAfterEOF(t *testing.T) {
	srv := newCounted(t, echo)
	tr := New(&refuse{}, nil)
	defer tr.CloseIdleConnections()
	resp, err := post(t, tr, context.Background(), srv.URL, `{}`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(resp.Body); err != nil {
		t.Fatal(err)
	}
	// At its end and not closed, a body keeps saying io.EOF (readers such
	// as json.Decoder read again); closed, it says so.
	for range 2 {
		if n, err := resp.Body.Read(make([]byte, 8)); n != 0 || err != io.EOF {
			t.Fatalf("read after the end: %d, %v, want 0, EOF", n, err)
		}
	}
	resp.Body.Close()
	if _, err := resp.Body.Read(make([]byte, 8)); !errors.Is(err, errBodyClosed) {
		t.Fatalf("read after close: %v, want %v", err, errBodyClosed)
	}
}

func TestDialFailure(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	tr := New(&refuse{}, nil)
	_, err := post(t, tr, context.Background(), "http://"+addr, `{}`)
	var op *net.OpError
	if !errors.As(err, &op) {
		t.Fatalf("err = %v, want a *net.OpError", err)
	}
}

func TestIdleConnectionsAreSwept(t *testing.T) {
	srv := newCounted(t, echo)
	tr := New(&refuse{}, nil)
	tr.IdleTimeout = 30 * time.Millisecond
	defer tr.CloseIdleConnections()
	resp, err := post(t, tr, context.Background(), srv.URL, `{}`)
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	deadline := time.Now().Add(5 * time.Second)
	for {
		tr.mu.Lock()
		n := len(tr.idle[canonicalAddr(resp.Request.URL)])
		tr.mu.Unlock()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("an idle connection outlived IdleTimeout")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// FuzzAnswer serves arbitrary bytes as an upstream's answer: the
// transport returns an answer or an error, never panics or hangs, and
// reuses the connection only after a well-formed answer read to its end.
func FuzzAnswer(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
	f.Add([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"))
	f.Add([]byte("HTTP/1.0 200 OK\r\n\r\nrest"))
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\nshort"))
	f.Add([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"))
	f.Fuzz(func(t *testing.T, answer []byte) {
		tr := New(&refuse{}, nil)
		tr.Dial = func(ctx context.Context, _, _ string) (net.Conn, error) {
			client, server := net.Pipe()
			go func() {
				defer server.Close()
				http.ReadRequest(bufio.NewReader(server))
				server.Write(answer)
			}()
			return client, nil
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		resp, err := post(t, tr, ctx, "http://fuzz.invalid", `{}`)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		tr.mu.Lock()
		kept := len(tr.idle["fuzz.invalid:80"]) > 0
		tr.mu.Unlock()
		tr.CloseIdleConnections()
		if want := reusable(answer); kept != want {
			t.Fatalf("connection kept: %v, want %v (err %v)", kept, want, err)
		}
	})
}

// reusable reports whether answer, parsed alone by net/http, is a whole
// answer after which its connection could serve another request.
func reusable(answer []byte) bool {
	br := bufio.NewReader(bytes.NewReader(answer))
	for {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return false
		}
		if resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			_, err := io.Copy(io.Discard, resp.Body)
			return err == nil && !resp.Close && resp.StatusCode != http.StatusSwitchingProtocols
		}
	}
}

func TestAnswerBeforeTheWholeBody(t *testing.T) {
	// The upstream refuses a body too large after its first bytes, and
	// closes: the client gets the 413, not a broken pipe.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		br := bufio.NewReader(c)
		if _, err := http.ReadRequest(br); err != nil {
			c.Close()
			return
		}
		io.WriteString(c, "HTTP/1.1 413 Request Entity Too Large\r\nContent-Length: 8\r\nConnection: close\r\n\r\ntoo big!")
		c.(*net.TCPConn).CloseWrite()
		time.Sleep(50 * time.Millisecond)
		c.(*net.TCPConn).SetLinger(0)
		c.Close() // unread body: a reset
	}()
	tr := New(&refuse{}, nil)
	defer tr.CloseIdleConnections()
	big := strings.Repeat("x", 32<<20)
	resp, err := post(t, tr, context.Background(), "http://"+ln.Addr().String(), big)
	if err != nil {
		t.Fatalf("err = %v, want the upstream's 413", err)
	}
	if resp.StatusCode != http.StatusRequestEntityTooLarge || readAll(t, resp) != "too big!" {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

func TestEndlessHeadersAreCutOff(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	sent := make(chan int64, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		http.ReadRequest(bufio.NewReader(c))
		line := "X-Pad: " + strings.Repeat("a", 1000) + "\r\n"
		n := int64(0)
		if _, err := io.WriteString(c, "HTTP/1.1 200 OK\r\n"); err == nil {
			for n < 64<<20 { // 64 MiB of headers, unless cut off
				m, err := io.WriteString(c, line)
				n += int64(m)
				if err != nil {
					break
				}
			}
		}
		sent <- n
	}()
	tr := New(&refuse{}, nil)
	defer tr.CloseIdleConnections()
	_, err = post(t, tr, context.Background(), "http://"+ln.Addr().String(), `{}`)
	if !errors.Is(err, errHeadTooLong) {
		t.Fatalf("err = %v, want %v", err, errHeadTooLong)
	}
	select {
	case n := <-sent:
		if n >= 64<<20 {
			t.Fatalf("the upstream sent all %d bytes of headers: never cut off", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the upstream was never cut off")
	}
}

func TestSweepKeepsTheLiveAndOrder(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 3)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	tr := New(&refuse{}, nil)
	defer tr.CloseIdleConnections()
	key := ln.Addr().String()
	var conns []*conn
	var server []net.Conn
	for range 3 {
		c, err := tr.dial(context.Background(), key)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		server = append(server, <-accepted)
	}
	defer func() {
		for _, c := range server {
			c.Close()
		}
	}()
	// Two have been idle for long, and the server has closed the first;
	// the third was used a moment ago.
	now := time.Now()
	conns[0].used, conns[1].used, conns[2].used = now.Add(-time.Minute), now.Add(-30*time.Second), now
	server[0].Close()
	deadline := time.Now().Add(5 * time.Second)
	for conns[0].alive() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond) // the FIN on its way
	}
	tr.mu.Lock()
	tr.idle = map[string][]*conn{key: {conns[0], conns[1], conns[2]}}
	tr.mu.Unlock()
	tr.sweep()
	tr.mu.Lock()
	got := tr.idle[key]
	tr.mu.Unlock()
	if len(got) != 2 || got[0] != conns[1] || got[1] != conns[2] {
		t.Fatalf("after the sweep: %d connections, want the live old one, then the recent one", len(got))
	}
}
