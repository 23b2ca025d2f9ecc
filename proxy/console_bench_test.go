package proxy_test

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/switchyard-router/switchyard/console"
	"github.com/switchyard-router/switchyard/proxy"
)

// BenchmarkConsoleOverhead measures what the console's live traffic adds
// to the proxy path: two servers in front of one fake upstream, 500
// requests per second on each (1,000 in all) interleaved in one open-loop
// run; one has the console with ten watchers reading its feed as the
// browsers' fetch streams do, the other has no console. The budget is
// overhead-p50-ms ≤ 0.1. In the Idle sub-benchmark the console is on and
// no one watches: it should cost nothing measurable.
func BenchmarkConsoleOverhead(b *testing.B) {
	for _, watchers := range []int{0, 10} {
		name := "Idle"
		if watchers > 0 {
			name = "TenWatching"
		}
		b.Run(name, func(b *testing.B) {
			rig := newBenchRig(b)
			feed := console.NewFeed()
			srv := proxy.NewServer(zerolog.New(io.Discard), &proxy.Runtime{Router: rig.router, Observer: feed, Console: console.Handler(),
				Admin: &proxy.Admin{Token: "admin-token", Control: &stubControl{}, Traffic: feed}})
			ts := httptest.NewServer(srv.Handler())
			b.Cleanup(ts.Close)
			var events atomic.Int64
			for range watchers {
				req, _ := http.NewRequestWithContext(b.Context(), http.MethodGet, ts.URL+"/admin/traffic", nil)
				req.Header.Set("Authorization", "Bearer admin-token")
				res, err := http.DefaultClient.Do(req)
				if err != nil || res.StatusCode != http.StatusOK {
					b.Fatalf("watch: %v %v", res, err)
				}
				go func() {
					defer res.Body.Close()
					sc := bufio.NewScanner(res.Body)
					for sc.Scan() {
						if len(sc.Bytes()) > 5 && string(sc.Bytes()[:5]) == "data:" {
							events.Add(1)
						}
					}
				}()
			}
			for feed.Watching() < watchers {
				time.Sleep(time.Millisecond)
			}
			console := ts.URL + "/v1/chat/completions"
			for range overheadWarmup {
				for _, u := range []string{rig.proxyURL, console} {
					if _, err := rig.send(b.Context(), u); err != nil {
						b.Fatal(err)
					}
				}
			}
			on, off := interleaveAt(b, rig, 500, path{url: console}, path{url: rig.proxyURL})
			reportPair(b, "console", on, "plain", off)
			if watchers > 0 && events.Load() < int64(watchers*len(on)/2) {
				b.Fatalf("the watchers read %d events for %d requests", events.Load(), len(on))
			}
		})
	}
}
