// Command rate is the fixed-rate load generator of bench/load.sh: an open
// loop that starts one non-streaming chat request every 1/rate seconds,
// whether or not earlier ones have finished, so that a slow gateway is
// offered the same rate as a fast one (wrk paces each connection only after
// its previous response, which lowers the rate a slow gateway receives).
// Latency runs from the request's start to its last body byte.
//
// It prints the same line as bench/load/chat.lua:
//
//	RESULT requests=N seconds=S errors=E p50_us=X p90_us=Y p99_us=Z
//
// With -prompts unique or repeat90 each request carries a generated prompt
// (see prompts.go) instead of the fixed one; -model "" leaves the model out,
// so that switchyard routes the request.
//
// usage: rate -url URL [-rate 300] [-d 20s] [-model M] [-prompts unique|repeat90 -start N -words FILE] [-H 'Name: value']...
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
	"sync"
	"time"
)

type headers []string

func (h *headers) String() string     { return strings.Join(*h, ", ") }
func (h *headers) Set(v string) error { *h = append(*h, v); return nil }

func main() {
	url := flag.String("url", "", "chat completions URL")
	rate := flag.Float64("rate", 300, "requests started per second")
	dur := flag.Duration("d", 20*time.Second, "how long to send")
	model := flag.String("model", "bench-model", `model field of the request; "" leaves it out`)
	prompts := flag.String("prompts", "", "generated prompts: unique or repeat90 (default: one fixed prompt)")
	first := flag.Int64("start", 0, "index of the first new generated prompt")
	wordsPath := flag.String("words", "bench/load/words.txt", "word list of the generated prompts")
	printN := flag.Int("print", 0, `print the first N generated prompts as JSONL {"text","label"} and exit (label "oos"), for bench/semrouter_eval.py`)
	var hdr headers
	flag.Var(&hdr, "H", "extra request header, 'Name: value' (repeatable)")
	flag.Parse()
	if (*url == "" && *printN == 0) || *rate <= 0 {
		fmt.Fprintln(os.Stderr, "rate: -url and a positive -rate are required")
		os.Exit(2)
	}

	if *prompts != "" && *prompts != "unique" && *prompts != "repeat90" {
		fmt.Fprintf(os.Stderr, "rate: -prompts %q: want unique or repeat90\n", *prompts)
		os.Exit(2)
	}
	var words []string
	if *prompts != "" {
		var err error
		if words, err = readWords(*wordsPath); err != nil {
			fmt.Fprintf(os.Stderr, "rate: %v\n", err)
			os.Exit(2)
		}
	}
	if *printN > 0 {
		if words == nil {
			fmt.Fprintln(os.Stderr, "rate: -print needs -prompts")
			os.Exit(2)
		}
		w := bufio.NewWriter(os.Stdout)
		for i := range *printN {
			fmt.Fprintf(w, "{\"text\":%q,\"label\":\"oos\"}\n", prompt(words, promptIndex(*prompts, *first, int64(i))))
		}
		if err := w.Flush(); err != nil {
			fmt.Fprintf(os.Stderr, "rate: %v\n", err)
			os.Exit(1)
		}
		return
	}
	head := `{"messages":`
	if *model != "" {
		head = `{"model":"` + *model + `","messages":`
	}
	body := func(i int) []byte {
		text := "hello, how are you?"
		if words != nil {
			text = prompt(words, promptIndex(*prompts, *first, int64(i)))
		}
		return []byte(head + `[{"role":"user","content":"` + text + `"}],"max_tokens":16}`)
	}
	client := &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{MaxIdleConns: 512, MaxIdleConnsPerHost: 512, IdleConnTimeout: time.Minute},
	}
	var (
		mu      sync.Mutex
		samples []time.Duration
		errs    int
		wg      sync.WaitGroup
	)
	interval := time.Duration(float64(time.Second) / *rate)
	n := int(dur.Seconds() * *rate)
	start := time.Now()
	for i := 0; i < n; i++ {
		// Sleep to each request's slot on the schedule, not by a fixed
		// interval, so that a late wake-up does not lower the rate.
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		wg.Add(1)
		b := body(i)
		go func() {
			defer wg.Done()
			d, err := once(client, *url, b, hdr)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if errs == 0 {
					fmt.Fprintf(os.Stderr, "rate: %v\n", err)
				}
				errs++
				return
			}
			samples = append(samples, d)
		}()
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	if len(samples) == 0 {
		fmt.Printf("RESULT requests=0 seconds=%.3f errors=%d p50_us=0 p90_us=0 p99_us=0\n", secs, errs)
		os.Exit(1)
	}
	slices.Sort(samples)
	q := func(p float64) int64 { return samples[int(p*float64(len(samples)-1)+0.5)].Microseconds() }
	fmt.Printf("RESULT requests=%d seconds=%.3f errors=%d p50_us=%d p90_us=%d p99_us=%d\n",
		len(samples), secs, errs, q(0.50), q(0.90), q(0.99))
}

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
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("status %d", resp.StatusCode)
	}
	return time.Since(start), nil
}
