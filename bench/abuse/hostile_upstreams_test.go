package abuse

// The cases where an upstream misbehaves (1 to 11).

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Case 1: an upstream that sends data: lines forever and never ends the
// event.
func caseDataWithoutBlankLine(t *testing.T, su *suite) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		startSSE(w)
		repeat(w, r, "data: "+openAIChunkHello+"\n", 256)
	})
	srv := su.start(t, setup{providers: openAIProvider("up", up.URL+"/v1", streamBounds, "m")})
	r := su.row(t, "01 data: lines, no blank line")
	misbehavingStream(t, r, srv, "/v1/chat/completions", "m")
	r.note = fmt.Sprintf("upstream wrote %s", mib(up.written.Load()))
}

// Case 2: endless role-only chunks, which are not content.
func caseRoleOnlyChunks(t *testing.T, su *suite) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		startSSE(w)
		repeat(w, r, "data: "+openAIRoleOnly+"\n\n", 64)
	})
	srv := su.start(t, setup{providers: openAIProvider("up", up.URL+"/v1", streamBounds, "m")})
	r := su.row(t, "02 endless role-only chunks")
	a := misbehavingStream(t, r, srv, "/v1/chat/completions", "m")
	r.note = fmt.Sprintf("upstream wrote %s", mib(up.written.Load()))
	if a.stream != nil {
		r.note += fmt.Sprintf("; client read %s", mib(a.stream.bytes))
	}
}

// Case 3: an Anthropic upstream that sends message_start, then pings
// forever; an OpenAI client and an Anthropic client.
func caseAnthropicPings(t *testing.T, su *suite) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		startSSE(w)
		io.WriteString(w, "event: message_start\ndata: "+anthropicStart+"\n\n")
		repeat(w, r, "event: ping\ndata: {\"type\":\"ping\"}\n\n", 64)
	})
	srv := su.start(t, setup{providers: anthropicProvider("claude", up.URL, streamBounds, "m")})
	t.Run("openai_client", func(t *testing.T) {
		r := su.row(t, "03 anthropic pings, openai client")
		misbehavingStream(t, r, srv, "/v1/chat/completions", "m")
	})
	t.Run("anthropic_client", func(t *testing.T) {
		r := su.row(t, "03 anthropic pings, anthropic client")
		misbehavingStream(t, r, srv, "/v1/messages", "m")
		r.note = fmt.Sprintf("upstream wrote %s in all", mib(up.written.Load()))
	})
}

// Case 4: one 8 MiB line of carriage returns, then nothing.
func caseCRLineThenStall(t *testing.T, su *suite) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		startSSE(w)
		piece := []byte(strings.Repeat("\r", 64<<10))
		for i := 0; i < (8<<20)/len(piece); i++ {
			if _, err := w.Write(piece); err != nil {
				return
			}
		}
		flush(w)
		hang(r)
	})
	srv := su.start(t, setup{providers: openAIProvider("up", up.URL+"/v1", streamBounds, "m")})
	r := su.row(t, "04 8 MiB of CR, then stall")
	misbehavingStream(t, r, srv, "/v1/chat/completions", "m")
	r.note = fmt.Sprintf("upstream wrote %s", mib(up.written.Load()))
}

// Case 5: a non-streamed answer that never ends.
func caseEndlessAnswer(t *testing.T, su *suite) {
	const head = `{"id":"c1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"`
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, head)
		repeat(w, r, "a", 64<<10)
	})
	srv := su.start(t, setup{providers: openAIProvider("up", up.URL+"/v1", "", "m")})
	const within = 5 * time.Second
	check := func(t *testing.T, a answer) {
		t.Helper()
		if a.err != nil || a.status != http.StatusBadGateway || a.errorMessage() == "" {
			t.Errorf("client: want 502 with a JSON error (the answer is over max_answer_bytes 16 MiB); got %s", a.describe())
		}
		if a.took > within {
			t.Errorf("time: want the 502 within %v; took %v", within, a.took)
		}
	}
	t.Run("one", func(t *testing.T) {
		r := su.row(t, "05 endless JSON answer, 1 client")
		m := srv.measure()
		a := send(srv.hc, srv.base, "/v1/chat/completions", chatBody("m", false), clientLimit)
		r.set(a, m)
		rise := r.rise
		r.note = fmt.Sprintf("upstream wrote %s", mib(up.written.Load()))
		check(t, a)
		if rise > streamRise {
			t.Errorf("RSS: want a peak rise under %s for one 16 MiB-capped answer; rose %s", mib(streamRise), mib(rise))
		}
	})
	t.Run("ten_concurrent", func(t *testing.T) {
		r := su.row(t, "05 endless JSON answer, 10 clients")
		before := up.written.Load()
		m := srv.measure()
		start := time.Now()
		answers := make([]answer, 10)
		var wg sync.WaitGroup
		for i := range answers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				answers[i] = send(srv.hc, srv.base, "/v1/chat/completions", chatBody("m", false), clientLimit)
			}()
		}
		wg.Wait()
		r.measured(m)
		rise := r.rise
		r.outcome, r.took = answers[0].describe(), time.Since(start)
		r.note = fmt.Sprintf("upstream wrote %s in all", mib(up.written.Load()-before))
		for i, a := range answers {
			t.Run(fmt.Sprint(i), func(t *testing.T) { check(t, a) })
		}
		if bound := int64(250 * mb); rise > bound {
			t.Errorf("RSS: want a peak rise under %s for ten 16 MiB-capped answers at once; rose %s", mib(bound), mib(rise))
		}
		srv.alive(t)
	})
}

// Case 6: an upstream that accepts the connection and never answers.
func caseHangingUpstream(t *testing.T, su *suite) {
	addr, accepted := hangingListener(t)
	srv := su.start(t, setup{providers: openAIProvider("hang", "http://"+addr+"/v1", ", timeout: 2s", "m")})
	for _, stream := range []bool{false, true} {
		name := map[bool]string{false: "non_stream", true: "stream"}[stream]
		t.Run(name, func(t *testing.T) {
			r := su.row(t, "06 hanging upstream, timeout 2s, "+name)
			m := srv.measure()
			a := send(srv.hc, srv.base, "/v1/chat/completions", chatBody("m", stream), clientLimit)
			r.set(a, m)
			if a.err != nil || a.status != http.StatusGatewayTimeout || a.errorMessage() == "" {
				t.Errorf("client: want 504 with a JSON error after the provider's timeout (2s); got %s", a.describe())
			}
			if lo, hi := 1500*time.Millisecond, 2*time.Second+slack; a.took < lo || a.took > hi {
				t.Errorf("time: want the answer after the 2s timeout, within [%v, %v]; took %v", lo, hi, a.took)
			}
		})
	}
	if accepted.Load() == 0 {
		t.Errorf("the hanging upstream accepted no connection: the case did not test what it claims")
	}
}

// Secrets given to the redirect and leak cases.
const (
	secretKey    = "sk-abuse-SECRETKEY-0123456789abcdef"
	secretHeader = "hdr-abuse-SECRETHEADER-9876543210"
)

// Case 7: redirects are never followed, so no secret reaches another
// server.
func caseRedirects(t *testing.T, su *suite) {
	trap := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, openAICompletion("trapped"))
	})
	trapURL, _ := url.Parse(trap.URL)
	var sameHostTrapped atomic.Int64
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		switch {
		case strings.HasPrefix(p, "/same/"):
			w.Header().Set("Location", "/trapped"+p)
			w.WriteHeader(http.StatusTemporaryRedirect)
		case strings.HasPrefix(p, "/other/"):
			w.Header().Set("Location", "http://localhost:"+trapURL.Port()+p)
			w.WriteHeader(http.StatusTemporaryRedirect)
		case strings.HasPrefix(p, "/found/"):
			w.Header().Set("Location", trap.URL+p)
			w.WriteHeader(http.StatusFound)
		case strings.HasPrefix(p, "/trapped/"):
			sameHostTrapped.Add(1)
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, openAICompletion("trapped"))
		default:
			http.NotFound(w, r)
		}
	})
	secrets := ", api_key_env: SY_ABUSE_KEY, headers_env: {X-Abuse-Secret: SY_ABUSE_HEADER}"
	srv := su.start(t, setup{
		providers: openAIProvider("redir-same", up.URL+"/same/v1", secrets, "m-same") +
			openAIProvider("redir-other", up.URL+"/other/v1", secrets, "m-other") +
			openAIProvider("redir-found", up.URL+"/found/v1", secrets, "m-found"),
		env: []string{"SY_ABUSE_KEY=" + secretKey, "SY_ABUSE_HEADER=" + secretHeader},
	})
	kinds := []struct{ provider, model, what string }{
		{"redir-same", "m-same", "307 to the same host"},
		{"redir-other", "m-other", "307 to localhost (another host name)"},
		{"redir-found", "m-found", "302 to another server"},
	}
	for _, k := range kinds {
		for _, stream := range []bool{false, true} {
			name := k.provider + map[bool]string{false: "", true: "_stream"}[stream]
			t.Run(name, func(t *testing.T) {
				r := su.row(t, "07 "+k.what+map[bool]string{false: "", true: ", stream"}[stream])
				m := srv.measure()
				a := send(srv.hc, srv.base, "/v1/chat/completions", chatBody(k.model, stream), clientLimit)
				r.set(a, m)
				if a.err != nil || a.status != http.StatusBadGateway || !strings.Contains(a.errorMessage(), k.provider) {
					t.Errorf("client: want 502 with a JSON error naming provider %q; got %s", k.provider, a.describe())
				}
				for _, s := range []string{secretKey, secretHeader, "trapped"} {
					if strings.Contains(a.visible(), s) {
						t.Errorf("client: the answer contains %q; want no secret and nothing from the redirect target", s)
					}
				}
			})
		}
	}
	if n := trap.requests.Load(); n != 0 {
		t.Errorf("redirect target on another server: want no request; got %d: %+v", n, trap.requestsSeen())
	}
	if n := sameHostTrapped.Load(); n != 0 {
		t.Errorf("redirect target on the same host: want no request; got %d", n)
	}
	// The secrets must have reached the real upstream (else the case
	// proves nothing), and nowhere else.
	seen := up.requestsSeen()
	if len(seen) == 0 {
		t.Fatalf("the redirecting upstream got no request")
	}
	for _, s := range seen {
		if strings.HasPrefix(s.Path, "/trapped/") {
			continue
		}
		if got := s.Header.Get("Authorization"); got != "Bearer "+secretKey {
			t.Errorf("upstream %s: want Authorization %q (api_key_env); got %q", s.Path, "Bearer "+secretKey, got)
		}
		if got := s.Header.Get("X-Abuse-Secret"); got != secretHeader {
			t.Errorf("upstream %s: want X-Abuse-Secret %q (headers_env); got %q", s.Path, secretHeader, got)
		}
	}
	logs := srv.log.String()
	for _, s := range []string{secretKey, secretHeader} {
		if strings.Contains(logs, s) {
			t.Errorf("server log: contains the secret %q; want it nowhere but the upstream's request", s)
		}
	}
	su.row(t, "07 redirects: target servers").note = fmt.Sprintf("other server got %d requests, same-host target %d; secrets in log: %t",
		trap.requests.Load(), sameHostTrapped.Load(), strings.Contains(logs, secretKey) || strings.Contains(logs, secretHeader))
}

// leak is an upstream error message full of things a client must not see.
const leak = "db password=hunter2 at 10.9.8.7:5432 sk-UPSTREAM-abcdef0123456789"

// forbidden are the strings no client-visible answer may carry in case 8.
var forbidden = []string{"hunter2", "sk-UPSTREAM", "10.9.8.7", "127.0.0.1", "http://", "Incorrect API key"}

// Case 8: upstream errors and refused connections reach the client
// without upstream detail.
func caseErrorLeaks(t *testing.T, su *suite) {
	leakJSON, _ := json.Marshal(map[string]any{"error": map[string]any{"message": leak, "type": "server_error"}})
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		switch p := r.URL.Path; {
		case strings.HasPrefix(p, "/e500/"):
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusInternalServerError)
			w.Write(leakJSON)
		case strings.HasPrefix(p, "/e401/"):
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":{"message":"Incorrect API key provided: sk-fak***. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`)
		case strings.HasPrefix(p, "/inband/"):
			startSSE(w)
			fmt.Fprintf(w, "data: %s\n\n", openAIChunkHello)
			flush(w)
			fmt.Fprintf(w, "data: %s\n\n", leakJSON)
		case strings.HasPrefix(p, "/early/"):
			startSSE(w)
			fmt.Fprintf(w, "data: %s\n\n", leakJSON)
		case strings.HasPrefix(p, "/v1/messages"): // the anthropic provider
			startSSE(w)
			for _, ev := range []struct{ name, data string }{
				{"message_start", anthropicStart},
				{"content_block_start", anthropicBlockOpen},
				{"content_block_delta", anthropicDeltaHi},
			} {
				fmt.Fprintf(w, "event: %s\ndata: %s\n\n", ev.name, ev.data)
			}
			flush(w)
			errJSON, _ := json.Marshal(map[string]any{"type": "error", "error": map[string]any{"type": "api_error", "message": leak}})
			fmt.Fprintf(w, "event: error\ndata: %s\n\n", errJSON)
		default:
			http.NotFound(w, r)
		}
	})
	closed := freeAddr(t)
	srv := su.start(t, setup{providers: openAIProvider("up500", up.URL+"/e500/v1", "", "m500") +
		openAIProvider("up401", up.URL+"/e401/v1", "", "m401") +
		openAIProvider("upinband", up.URL+"/inband/v1", "", "minband") +
		openAIProvider("upearly", up.URL+"/early/v1", "", "mearly") +
		anthropicProvider("upanth", up.URL, "", "manth") +
		openAIProvider("uprefused", "http://"+closed+"/v1", "", "mrefused")})
	cases := []struct {
		name, path, model string
		stream            bool
		want              int // status; 200 for an in-band error
	}{
		{"500, openai client", "/v1/chat/completions", "m500", false, http.StatusBadGateway},
		{"500, anthropic client", "/v1/messages", "m500", false, http.StatusBadGateway},
		{"500, openai client, stream", "/v1/chat/completions", "m500", true, http.StatusBadGateway},
		{"401 key refused", "/v1/chat/completions", "m401", false, http.StatusBadGateway},
		{"in-band error after content", "/v1/chat/completions", "minband", true, http.StatusOK},
		{"error event before content", "/v1/chat/completions", "mearly", true, http.StatusBadGateway},
		{"anthropic event: error, anthropic client", "/v1/messages", "manth", true, http.StatusOK},
		{"anthropic event: error, openai client", "/v1/chat/completions", "manth", true, http.StatusOK},
		{"connection refused", "/v1/chat/completions", "mrefused", false, http.StatusBadGateway},
		{"connection refused, stream", "/v1/chat/completions", "mrefused", true, http.StatusBadGateway},
	}
	for _, c := range cases {
		t.Run(strings.NewReplacer(" ", "_", ",", "", ":", "").Replace(c.name), func(t *testing.T) {
			r := su.row(t, "08 "+c.name)
			m := srv.measure()
			a := send(srv.hc, srv.base, c.path, chatBody(c.model, c.stream), clientLimit)
			r.set(a, m)
			if a.err != nil || a.status != c.want || !a.isError() {
				t.Errorf("client: want %d with an error (JSON body, or in-band for 200); got %s", c.want, a.describe())
			}
			vis := a.visible()
			for _, s := range forbidden {
				if strings.Contains(vis, s) {
					t.Errorf("client: the answer contains %q; want no upstream detail. It was:\n%s", s, clipText(vis, 2048))
				}
			}
		})
	}
	su.row(t, "08 server log").note = fmt.Sprintf("the log has the 500's detail (hunter2): %t", strings.Contains(srv.log.String(), "hunter2"))
}

func clipText(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// providerStatus is one target of GET /admin/providers.
type providerStatus struct {
	Provider            string    `json:"provider"`
	Model               string    `json:"model"`
	State               string    `json:"state"`
	ConsecutiveFailures int       `json:"consecutive_failures"`
	Until               time.Time `json:"until"`
	Requests            int       `json:"requests"`
	Failures            int       `json:"failures"`
}

// target fetches GET /admin/providers and returns provider/model's entry.
func (s *server) target(t *testing.T, provider, model string) providerStatus {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.base+"/admin/providers", nil)
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := s.hc.Do(req)
	if err != nil {
		t.Fatalf("GET /admin/providers: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /admin/providers: want 200; got %d %s", resp.StatusCode, body)
	}
	var out struct {
		Targets []providerStatus `json:"targets"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("GET /admin/providers: %v in %s", err, body)
	}
	for _, tg := range out.Targets {
		if tg.Provider == provider && tg.Model == model {
			return tg
		}
	}
	t.Fatalf("GET /admin/providers: no target %s/%s in %s", provider, model, body)
	return providerStatus{}
}

// Case 9: a 429 with a Retry-After of ten years.
func caseHugeRetryAfter(t *testing.T, su *suite) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "315360000")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		io.WriteString(w, `{"error":{"message":"rate limited","type":"rate_limit_error"}}`)
	})
	srv := su.start(t, setup{providers: openAIProvider("limited", up.URL+"/v1", "", "m"), admin: true})
	r := su.row(t, "09 429 Retry-After: 315360000")
	m := srv.measure()
	a := send(srv.hc, srv.base, "/v1/chat/completions", chatBody("m", false), clientLimit)
	r.set(a, m)
	now := time.Now()
	if a.err != nil || a.status != http.StatusTooManyRequests {
		t.Errorf("client: want 429 (the upstream's status is kept); got %s", a.describe())
	}
	tg := srv.target(t, "limited", "m")
	r.note = fmt.Sprintf("state %s, until now+%v, client Retry-After %q", tg.State, tg.Until.Sub(now).Round(time.Second), a.header.Get("Retry-After"))
	if tg.State != "paused" {
		t.Errorf("/admin/providers: want limited/m paused; got state %q", tg.State)
	}
	if max := now.Add(10*time.Minute + 5*time.Second); tg.Until.After(max) || !tg.Until.After(now) {
		t.Errorf("/admin/providers: want until in (now, now+10m]; got %v (now+%v)", tg.Until, tg.Until.Sub(now))
	}
	if ra := a.header.Get("Retry-After"); ra == "315360000" {
		t.Logf("note: the client got Retry-After %q as the upstream sent it", ra)
	}
	// A paused target is skipped: the next request costs the upstream
	// nothing.
	b := send(srv.hc, srv.base, "/v1/chat/completions", chatBody("m", false), clientLimit)
	if n := up.requests.Load(); n != 1 {
		t.Errorf("upstream: want 1 request (the paused target is skipped afterwards); got %d (second answer: %s)", n, b.describe())
	}
	r.note += "; next request: " + b.describe()
}

// Case 10: two requests that fail three times each leave the circuit
// closed.
func caseTwoBadRequests(t *testing.T, su *suite) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, `{"error":{"message":"boom","type":"server_error"}}`)
	})
	srv := su.start(t, setup{providers: openAIProvider("flaky", up.URL+"/v1", "", "m"), admin: true, maxRetries: 2})
	r := su.row(t, "10 two 500 requests, max_retries 2")
	m := srv.measure()
	start := time.Now()
	var last answer
	for i := 0; i < 2; i++ {
		last = send(srv.hc, srv.base, "/v1/chat/completions", chatBody("m", false), clientLimit)
		if last.err != nil || last.status != http.StatusBadGateway {
			t.Errorf("request %d: want 502; got %s", i+1, last.describe())
		}
	}
	r.set(last, m)
	r.took = time.Since(start)
	tg := srv.target(t, "flaky", "m")
	r.note = fmt.Sprintf("upstream got %d requests; state %s, consecutive_failures %d", up.requests.Load(), tg.State, tg.ConsecutiveFailures)
	if n := up.requests.Load(); n != 6 {
		t.Errorf("upstream: want 6 requests (2 requests x 3 attempts); got %d", n)
	}
	if tg.State != "closed" {
		t.Errorf("/admin/providers: want flaky/m closed after two failed requests (max_failures 5); got %q with %d consecutive failures", tg.State, tg.ConsecutiveFailures)
	}
}

// Case 11: one chunk split over two data: lines, and invalid UTF-8 in
// content.
func caseMultilineEvent(t *testing.T, su *suite) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		startSSE(w)
		io.WriteString(w, "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\n")
		io.WriteString(w, "data: \"delta\":{\"role\":\"assistant\",\"content\":\"Hello\"},\"finish_reason\":null}]}\n\n")
		io.WriteString(w, "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" bad \xff\xfe bytes \xc3\"},\"finish_reason\":null}]}\n\n")
		io.WriteString(w, "data: "+openAIChunkStop+"\n\ndata: [DONE]\n\n")
	})
	srv := su.start(t, setup{providers: openAIProvider("up", up.URL+"/v1", "", "m")})
	for _, c := range []struct{ name, path string }{{"openai_client", "/v1/chat/completions"}, {"anthropic_client", "/v1/messages"}} {
		t.Run(c.name, func(t *testing.T) {
			r := su.row(t, "11 multi-line event + bad UTF-8, "+strings.ReplaceAll(c.name, "_", " "))
			m := srv.measure()
			a := send(srv.hc, srv.base, c.path, chatBody("m", true), clientLimit)
			r.set(a, m)
			if a.err != nil || a.status != http.StatusOK || a.stream == nil {
				t.Fatalf("client: want a 200 event stream; got %s", a.describe())
			}
			s := a.stream
			r.note = fmt.Sprintf("text %q", clipText(s.text.String(), 60))
			if len(s.badJSON) > 0 {
				t.Errorf("client: want every data: line to be one JSON value; these are not: %v", s.badJSON)
			}
			if s.badUTF8 > 0 {
				t.Errorf("client: want valid UTF-8 only; %d lines are not. Stream:\n%q", s.badUTF8, clipText(s.raw.String(), 2048))
			}
			if s.multiData > 0 {
				t.Errorf("client: want one data: line per event; %d events have more", s.multiData)
			}
			if !s.done || s.errMsg != "" {
				t.Errorf("client: want a complete stream without error; got %s", a.describe())
			}
			if txt := s.text.String(); !strings.Contains(txt, "Hello") || !strings.Contains(txt, "bytes") {
				t.Errorf("client: want the text of both chunks (\"Hello\" and \" bad … bytes\"); got %q", txt)
			}
		})
	}
}
