// Command client is bench/scale.sh's load: C clients posting one chat
// request after another to a URL for a duration, each request with the
// given key. It prints one RESULT line: requests answered 200, refused
// 429, and every other outcome (a status, or "error" for no answer),
// which a run that must lose nothing expects to be none.
//
// usage: client -url URL -key KEY [-c 20] [-d 90s] [-model M]
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
)

func main() {
	url := flag.String("url", "", "chat completions URL")
	key := flag.String("key", "", "client key")
	conc := flag.Int("c", 20, "concurrent clients")
	dur := flag.Duration("d", 90*time.Second, "how long")
	model := flag.String("model", "bench-model", "model to ask for")
	flag.Parse()
	if *url == "" {
		fmt.Fprintln(os.Stderr, "client: -url is required")
		os.Exit(2)
	}
	body := []byte(fmt.Sprintf(`{"model":%q,"messages":[{"role":"user","content":"hello"}]}`, *model))
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: *conc}}
	ctx, cancel := context.WithTimeout(context.Background(), *dur)
	defer cancel()
	var (
		mu     sync.Mutex
		counts = map[string]int{}
		wg     sync.WaitGroup
	)
	for range *conc {
		wg.Go(func() {
			for ctx.Err() == nil {
				req, _ := http.NewRequest(http.MethodPost, *url, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+*key)
				outcome := "error"
				res, err := hc.Do(req)
				if err == nil {
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
					outcome = fmt.Sprint(res.StatusCode)
				}
				mu.Lock()
				counts[outcome]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	var other []string
	n := 0
	for k, v := range counts {
		if k != "200" && k != "429" {
			other = append(other, fmt.Sprintf("%s:%d", k, v))
			n += v
		}
	}
	sort.Strings(other)
	fmt.Printf("RESULT ok=%d limited=%d other=%d detail=%s\n", counts["200"], counts["429"], n, strings.Join(other, ","))
}
