package upstream

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// BenchmarkRoundTrip sends a chat-sized POST to a loopback upstream
// through net/http's Transport and through Transport, side by side: the
// difference per op is what the lean path saves a proxied request.
func BenchmarkRoundTrip(b *testing.B) {
	answer := []byte(`{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"bench-model",` +
		`"choices":[{"index":0,"message":{"role":"assistant","content":"Hello! How can I help you today?"},"finish_reason":"stop"}],` +
		`"usage":{"prompt_tokens":12,"completion_tokens":9,"total_tokens":21}}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Write(answer)
	}))
	defer srv.Close()
	body := []byte(`{"model":"bench-model","messages":[{"role":"user","content":"hello, how are you?"}],"max_tokens":16}`)
	std := &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: 90 * time.Second}
	for _, c := range []struct {
		name string
		rt   http.RoundTripper
	}{{"net-http", std}, {"lean", New(std, nil)}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				buf := make([]byte, 1024)
				for pb.Next() {
					r, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/chat/completions", bytes.NewReader(body))
					r.Header["Content-Type"] = []string{"application/json"}
					resp, err := c.rt.RoundTrip(r)
					if err != nil {
						b.Fatal(err)
					}
					n, _ := io.ReadFull(resp.Body, buf[:resp.ContentLength])
					resp.Body.Close()
					if n != len(answer) {
						b.Fatalf("read %d bytes", n)
					}
				}
			})
		})
	}
}
