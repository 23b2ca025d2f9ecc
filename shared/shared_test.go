package shared_test

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/switchyard-router/switchyard/auth"
	"github.com/switchyard-router/switchyard/shared"
)

// redisURL is the test server's URL (scripts/test-servers.sh starts one).
func redisURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("SWITCHYARD_TEST_REDIS_URL")
	if u == "" {
		if os.Getenv("SWITCHYARD_REQUIRE_SERVERS") == "1" {
			t.Fatal("SWITCHYARD_TEST_REDIS_URL is not set and SWITCHYARD_REQUIRE_SERVERS=1: Redis tests must run")
		}
		t.Skip("no Redis server: set SWITCHYARD_TEST_REDIS_URL (scripts/test-servers.sh starts one)")
	}
	return u
}

// open connects to url under a prefix of the test's own.
func open(t *testing.T, url, prefix string) *shared.Store {
	t.Helper()
	s, err := shared.Open(shared.Options{URL: url, Prefix: prefix, Log: zerolog.Nop(), PingEvery: 50 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func prefix() string {
	b := make([]byte, 6)
	rand.Read(b)
	return "test-" + hex.EncodeToString(b) + ":"
}

// TestSharedLimitHoldsAcrossReplicas: three replicas' limiters, each
// counting through its own connection, admit exactly a key's requests
// per minute between them under concurrency, and one over-limit refusal
// carries a Retry-After in the next minute.
func TestSharedLimitHoldsAcrossReplicas(t *testing.T) {
	url, p := redisURL(t), prefix()
	key := &auth.Key{Name: "team", RequestsPerMinute: 50, TokensPerMinute: 1_000_000}
	var limiters []*auth.Limiter
	for range 3 {
		l := auth.NewLimiter()
		l.SetShared(open(t, url, p).Limits())
		limiters = append(limiters, l)
	}
	var ok, refused atomic.Int64
	var retry atomic.Int64
	var wg sync.WaitGroup
	for i := range 150 {
		wg.Go(func() {
			res, err := limiters[i%3].ReserveContext(t.Context(), key, 10)
			var le *auth.LimitError
			switch {
			case err == nil:
				ok.Add(1)
				res.Settle(12, 0.001)
			case errors.As(err, &le):
				refused.Add(1)
				retry.Store(int64(le.RetryAfter()))
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 50 || refused.Load() != 100 {
		t.Errorf("%d admitted, %d refused; want 50 and 100", ok.Load(), refused.Load())
	}
	if r := retry.Load(); r < 1 || r > 61 {
		t.Errorf("Retry-After %d s, want within the next minute", r)
	}
}

// TestSharedBudget: spend settled on one replica stops the next request
// on another once the day's budget is reached.
func TestSharedBudget(t *testing.T) {
	url, p := redisURL(t), prefix()
	key := &auth.Key{Name: "b", BudgetDay: 1}
	a, b := auth.NewLimiter(), auth.NewLimiter()
	a.SetShared(open(t, url, p).Limits())
	b.SetShared(open(t, url, p).Limits())
	res, err := a.ReserveContext(t.Context(), key, 10)
	if err != nil {
		t.Fatal(err)
	}
	res.Settle(10, 1.25) // crosses the budget: it ran, the next does not
	var le *auth.LimitError
	if _, err := b.ReserveContext(t.Context(), key, 10); !errors.As(err, &le) || le.Limit != "USD per day" {
		t.Errorf("after the budget was spent on another replica: %v, want a USD-per-day refusal", err)
	}
}

// TestRedisDownFallsBackToLocal: with Redis unreachable, a limiter counts
// on its own at once (no call waits for Redis), and Up says so.
func TestRedisDownFallsBackToLocal(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there
	s := open(t, "redis://"+addr+"/0", prefix())
	if s.Up() {
		t.Fatal("Up with nothing listening")
	}
	l := auth.NewLimiter()
	l.SetShared(s.Limits())
	key := &auth.Key{Name: "k", RequestsPerMinute: 2}
	start := time.Now()
	for i := range 3 {
		_, err := l.ReserveContext(t.Context(), key, 1)
		if (i < 2) != (err == nil) {
			t.Errorf("request %d: %v", i, err)
		}
	}
	if took := time.Since(start); took > 50*time.Millisecond {
		t.Errorf("three local reservations took %v with Redis down", took)
	}
	if _, ok := s.Get(t.Context(), "x"); ok {
		t.Error("Get answered with Redis down")
	}
}

// TestValuesAndNews: what one replica sets another reads, until it
// expires; what one publishes every subscriber hears.
func TestValuesAndNews(t *testing.T) {
	url, p := redisURL(t), prefix()
	a, b := open(t, url, p), open(t, url, p)
	a.Set(t.Context(), "session:abc", "code", 300*time.Millisecond)
	if v, ok := b.Get(t.Context(), "session:abc"); !ok || v != "code" {
		t.Errorf("b reads %q %v, want code", v, ok)
	}
	time.Sleep(400 * time.Millisecond)
	if _, ok := b.Get(t.Context(), "session:abc"); ok {
		t.Error("the value outlived its ttl")
	}
	got := make(chan string, 1)
	b.Subscribe("news", func(m string) { got <- m })
	deadline := time.Now().Add(2 * time.Second)
	for {
		a.Publish(t.Context(), "news", "hello")
		select {
		case m := <-got:
			if m != "hello" {
				t.Errorf("heard %q", m)
			}
			return
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("no message within 2s")
		}
	}
}
