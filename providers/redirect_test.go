package providers_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
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
