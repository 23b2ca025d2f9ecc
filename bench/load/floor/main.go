// Command floor is the baseline of bench/load.sh: a plain
// net/http/httputil.ReverseProxy in front of the fake upstream, with no
// parsing, so that its cost is the least any Go gateway can add.
//
// usage: floor -listen 127.0.0.1:PORT -upstream http://127.0.0.1:PORT
package main

import (
	"flag"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:9101", "address to listen on")
	upstream := flag.String("upstream", "http://127.0.0.1:9100", "upstream base URL")
	flag.Parse()

	target, err := url.Parse(*upstream)
	if err != nil {
		log.Fatalf("floor: upstream: %v", err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	// The default transport keeps 2 idle connections per host; under 32
	// concurrent clients that would reconnect on most requests.
	rp.Transport = &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: 90 * time.Second}
	// Without a pool, every response is copied through a fresh 32 KiB
	// buffer; any gateway tuned for throughput pools them.
	rp.BufferPool = &bufferPool{}
	// FlushInterval stays 0: ReverseProxy flushes text/event-stream
	// responses after every write anyway.
	srv := &http.Server{Addr: *listen, Handler: rp, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}

// bufferPool implements httputil.BufferPool over a sync.Pool.
type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() []byte {
	if v, ok := b.p.Get().(*[]byte); ok {
		return *v
	}
	return make([]byte, 32*1024)
}

func (b *bufferPool) Put(buf []byte) { b.p.Put(&buf) }
