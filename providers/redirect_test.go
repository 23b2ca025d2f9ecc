package providers_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	neturl "net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/switchyard-router/switchyard/providers"
)

// An upstream's redirect is never followed, whatever the client's own
// policy: the request (its body, key and headers) must not reach the
// redirect's target, and the call fails over as a retryable 502.
func TestSendRefusesRedirects(t *testing.T) {
	var reached atomic.Int64
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		w.Write([]byte(`{"ok":true}`))
	}))
	defer elsewhere.Close()
	for _, code := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, elsewhere.URL+"/v1/chat/completions", code)
		}))
		hr, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, up.URL, strings.NewReader(`{"messages":[]}`))
		hr.Header.Set("Authorization", "Bearer sk-secret")
		hr.Header.Set("X-Api-Key", "sk-secret")
		resp, err := providers.Send(t.Context(), &http.Client{}, hr, "up", 0, func([]byte) (string, string) { return "", "" })
		up.Close()
		var pe *providers.Error
		if resp != nil || !errors.As(err, &pe) || pe.Status != http.StatusBadGateway || !pe.Retryable || pe.Provider != "up" || !strings.Contains(err.Error(), "redirect") {
			t.Errorf("%d: response %v, error %v", code, resp, err)
		}
	}
	if n := reached.Load(); n != 0 {
		t.Errorf("the redirect's target got %d requests", n)
	}
}

// An unreachable upstream is reported as Do reports it, a *url.Error
// naming the method and URL, whether Send goes through the client or
// straight to its transport.
func TestSendTransportError(t *testing.T) {
	up := httptest.NewServer(http.NotFoundHandler())
	url := up.URL + "/v1/chat/completions"
	up.Close()
	for _, hc := range []*http.Client{{}, {Jar: jarStub{}}} {
		hr, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(`{}`))
		_, err := providers.Send(t.Context(), hc, hr, "up", 0, func([]byte) (string, string) { return "", "" })
		var ue *neturl.Error
		if !errors.As(err, &ue) || ue.Op != "Post" || ue.URL != url {
			t.Errorf("jar %v: error %v", hc.Jar != nil, err)
		}
	}
}

type jarStub struct{}

func (jarStub) SetCookies(*neturl.URL, []*http.Cookie) {}
func (jarStub) Cookies(*neturl.URL) []*http.Cookie     { return nil }
