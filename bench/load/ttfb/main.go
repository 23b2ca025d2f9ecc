// Command ttfb measures a streaming chat completion's time to first byte
// through a gateway: the time from sending the request to reading the first
// SSE "data:" line, over N sequential requests on one kept-alive
// connection. It prints one line: "ttfb n=N p50_ms=… p99_ms=… errors=…".
//
// usage: ttfb -url http://127.0.0.1:PORT/v1/chat/completions [-n 500] [-model M] [-H 'Name: value']...
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"
)

type headers []string

func (h *headers) String() string     { return strings.Join(*h, ", ") }
func (h *headers) Set(v string) error { *h = append(*h, v); return nil }

func main() {
	url := flag.String("url", "", "chat completions URL")
	n := flag.Int("n", 500, "sequential requests after the warm-up")
	warm := flag.Int("warmup", 50, "requests sent first and not counted")
	model := flag.String("model", "bench-model", "model field of the request")
	var hdr headers
	flag.Var(&hdr, "H", "extra request header, 'Name: value' (repeatable)")
	flag.Parse()
	if *url == "" {
		fmt.Fprintln(os.Stderr, "ttfb: -url is required")
		os.Exit(2)
	}

	body := []byte(`{"model":"` + *model + `","stream":true,"messages":[{"role":"user","content":"hello, how are you?"}]}`)
	client := &http.Client{Timeout: 30 * time.Second}
	var samples []time.Duration
	errs := 0
	for i := 0; i < *warm+*n; i++ {
		d, err := once(client, *url, body, hdr)
		if err != nil {
			errs++
			if errs == 1 {
				fmt.Fprintf(os.Stderr, "ttfb: %v\n", err)
			}
			continue
		}
		if i >= *warm {
			samples = append(samples, d)
		}
	}
	if len(samples) == 0 {
		fmt.Printf("ttfb n=0 p50_ms=NaN p99_ms=NaN errors=%d\n", errs)
		os.Exit(1)
	}
	slices.Sort(samples)
	q := func(p float64) float64 {
		return float64(samples[int(p*float64(len(samples)-1)+0.5)]) / float64(time.Millisecond)
	}
	fmt.Printf("ttfb n=%d p50_ms=%.3f p99_ms=%.3f errors=%d\n", len(samples), q(0.50), q(0.99), errs)
}

// once sends one streaming request and returns the time to its first data
// line; it then drains the stream so the connection is reused.
func once(client *http.Client, url string, body []byte, hdr headers) (time.Duration, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer sk-bench")
	for _, h := range hdr {
		name, value, _ := strings.Cut(h, ":")
		req.Header.Set(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		return 0, fmt.Errorf("status %d: %s", resp.StatusCode, msg)
	}
	r := bufio.NewReader(resp.Body)
	for {
		line, err := r.ReadSlice('\n')
		if bytes.HasPrefix(line, []byte("data:")) {
			d := time.Since(start)
			_, err = io.Copy(io.Discard, r)
			return d, err
		}
		if err != nil {
			return 0, fmt.Errorf("stream ended before a data line: %w", err)
		}
	}
}
