package proxy

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"unicode/utf8"

	"github.com/switchyard-router/switchyard/providers"
)

func TestScrub(t *testing.T) {
	tests := []struct{ in, want string }{
		{"messages[0].content[1].type: required", "messages[0].content[1].type: required"},
		{`Post "http://127.0.0.1:19999/v1/chat/completions": dial tcp 127.0.0.1:19999: connect: connection refused`,
			`Post "[url]": dial tcp [address]: connect: connection refused`},
		{"reach [::1]:8080 or [fe80::1%eth0]", "reach [address] or [fe80::1%eth0]"},
		{"see https://internal.example/debug?x=1 now", "see [url] now"},
		{"Incorrect API key provided: sk-fake1234567890", "Incorrect API key provided: [redacted]"},
		{"at localhost:11434 ok", "at [address] ok"},
		{"two\nlines\r\n  here", "two lines here"},
		{"bad \xff byte", "bad \uFFFD byte"},
	}
	for _, tt := range tests {
		if got := scrub(tt.in); got != tt.want {
			t.Errorf("scrub(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	long := scrub(strings.Repeat("é", 5000))
	if len(long) > maxPublicMessage || !utf8.ValidString(long) || !strings.HasSuffix(long, "…") {
		t.Errorf("a long message is %d bytes (valid %v), want at most %d, valid, marked cut", len(long), utf8.ValidString(long), maxPublicMessage)
	}
}

func TestTransportReasonShowsNoAddress(t *testing.T) {
	op := &net.OpError{Op: "dial", Net: "tcp", Addr: &net.TCPAddr{IP: net.IPv4(10, 1, 2, 3), Port: 443}, Err: &net.DNSError{Err: "no such host", Name: "secret.internal"}}
	tests := []struct {
		err  error
		want string
	}{
		{&url.Error{Op: "Post", URL: "http://10.1.2.3:443/v1", Err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}}, "connection refused"},
		{&url.Error{Op: "Post", URL: "http://secret.internal/v1", Err: op}, "host name did not resolve"},
		{fmt.Errorf("read body: %w", &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}), "connection reset"},
		{errors.New("stream ended before [DONE]"), "stream ended before [DONE]"},
	}
	for _, tt := range tests {
		pe := providers.Transport("up", tt.err)
		got := publicMessage(pe)
		if got != "upstream up: "+tt.want {
			t.Errorf("publicMessage(%v) = %q, want %q", tt.err, got, "upstream up: "+tt.want)
		}
		if strings.Contains(got, "10.1.2.3") || strings.Contains(got, "secret.internal") {
			t.Errorf("%q shows an address", got)
		}
	}
}

// TestUnavailableNamedOnce: the 503 of a chain with every target skipped
// names the chain once, not as an upstream.
func TestUnavailableNamedOnce(t *testing.T) {
	err := &providers.Error{Provider: `route "code"`, Status: 503,
		Err: fmt.Errorf("%s: %w (circuit open or paused): %v", `route "code"`, providers.ErrUnavailable, []string{"a/m"})}
	got := publicMessage(err)
	if want := `route "code": every target is unavailable (circuit open or paused): [a/m]`; got != want {
		t.Errorf("publicMessage = %q, want %q", got, want)
	}
}
