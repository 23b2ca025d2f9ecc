package console

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/usage"
)

// TestHandler: the page and its assets come from the binary, each with
// the strict policy; nothing else is served.
func TestHandler(t *testing.T) {
	ts := httptest.NewServer(Handler())
	defer ts.Close()
	for path, want := range map[string]string{"/": "<title>switchyard</title>", "/console/app.js": "readEvents", "/console/app.css": "--accent"} {
		res, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b := new(strings.Builder)
		bufio.NewReader(res.Body).WriteTo(b)
		res.Body.Close()
		if res.StatusCode != 200 || !strings.Contains(b.String(), want) || res.Header.Get("Content-Security-Policy") != CSP {
			t.Errorf("%s: %d, CSP %q, body has %q: %v", path, res.StatusCode, res.Header.Get("Content-Security-Policy"), want, strings.Contains(b.String(), want))
		}
	}
	for _, path := range []string{"/console/nope.js", "/console/../console.go"} {
		if res, err := http.Get(ts.URL + path); err != nil || res.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %v %v, want 404", path, res.StatusCode, err)
		}
	}
	if res, err := http.Post(ts.URL+"/", "text/plain", nil); err != nil || res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /: %v %v", res.StatusCode, err)
	}
}

// TestFeed: a watcher gets each request as an event; with none watching
// nothing is encoded.
func TestFeed(t *testing.T) {
	f := NewFeed()
	f.Served(usage.Record{RequestID: "before"}, nil) // no one watching: dropped on the floor
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ts := httptest.NewServer(f)
	defer ts.Close()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ts.URL, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	for f.Watching() == 0 {
		time.Sleep(time.Millisecond)
	}
	f.Served(usage.Record{RequestID: "r-1", Route: "code", Status: 200, Latency: 3 * time.Millisecond},
		[]providers.Attempt{{Target: "up/m", Status: 200, Duration: 2 * time.Millisecond}})
	f.Refused("openai", 429, "rate_limited")
	sc := bufio.NewScanner(res.Body)
	var data []string
	for sc.Scan() && len(data) < 2 {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			data = append(data, d)
		}
	}
	if len(data) != 2 || !strings.Contains(data[0], `"request_id":"r-1"`) || !strings.Contains(data[0], `"target":"up/m"`) ||
		!strings.Contains(data[1], `"refused":"rate_limited"`) || strings.Contains(strings.Join(data, ""), "before") {
		t.Errorf("events %q", data)
	}
}
