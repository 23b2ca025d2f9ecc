package shared_test

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/switchyard-router/switchyard/auth"
	"github.com/switchyard-router/switchyard/shared"
	"github.com/switchyard-router/switchyard/shared/sharedtest"
)

// open connects to url under a prefix of the test's own.
func open(t *testing.T, url, prefix string) *shared.Store {
	t.Helper()
	s, err := shared.Open(shared.Options{URL: url, Prefix: prefix, Log: zerolog.Nop(), PingEvery: 50 * time.Millisecond})
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

// TestSharedLimitHoldsAcrossReplicas: three replicas, each counting
// through its own connection, asked at once five times every 100 ms for a
// minute, admit a key's 50 requests per minute between them (plus the
// one-request burst), and a refusal's Retry-After is the pacing interval.
func TestSharedLimitHoldsAcrossReplicas(t *testing.T) {
	url, p := sharedtest.URL(t), prefix()
	key := &auth.Key{Name: "team", RequestsPerMinute: 50, TokensPerMinute: 1_000_000}
	var replicas []*shared.Limits
	for range 3 {
		replicas = append(replicas, open(t, url, p).Limits())
	}
	start := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	var ok, refused atomic.Int64
	var maxRetry atomic.Int64
	for tick := range 600 {
		now := start.Add(time.Duration(tick) * 100 * time.Millisecond)
		var wg sync.WaitGroup
		for i := range 5 {
			wg.Go(func() {
				err := replicas[i%3].Reserve(t.Context(), key, 10, now)
				var le *auth.LimitError
				switch {
				case err == nil:
					ok.Add(1)
				case errors.As(err, &le):
					refused.Add(1)
					if r := int64(le.Retry / time.Millisecond); r > maxRetry.Load() {
						maxRetry.Store(r)
					}
				default:
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}
	if ok.Load() < 50 || ok.Load() > 51 || ok.Load()+refused.Load() != 3000 {
		t.Errorf("%d admitted, %d refused; want 50 or 51 of 3000", ok.Load(), refused.Load())
	}
	if r := maxRetry.Load(); r < 1 || r > 1200 {
		t.Errorf("longest Retry %d ms, want at most the 1.2 s interval", r)
	}
}

// TestSharedBudget: spend settled on one replica stops the next request
// on another once the day's budget is reached.
func TestSharedBudget(t *testing.T) {
	url, p := sharedtest.URL(t), prefix()
	key := &auth.Key{Name: "b", BudgetDay: 1}
	a, b := auth.NewLimiter(), auth.NewLimiter()
	a.SetShared(open(t, url, p).Limits())
	b.SetShared(open(t, url, p).Limits())
	res, err := a.ReserveContext(t.Context(), key, 10)
	if err != nil {
		t.Fatal(err)
	}
	res.Settle(10, 1.25) // crosses the budget: it ran, the next does not
	// The spend reaches Redis a round trip after the answer (Settle does
	// not hold the request for it).
	var le *auth.LimitError
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if _, err = b.ReserveContext(t.Context(), key, 10); errors.As(err, &le) {
			break
		}
	}
	if !errors.As(err, &le) || le.Limit != "USD per day" {
		t.Errorf("after the budget was spent on another replica: %v, want a USD-per-day refusal within 1s", err)
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
	url, p := sharedtest.URL(t), prefix()
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

// TestRateOverNinetySeconds: 600 requests per minute, asked 20 times a
// second for 90 simulated seconds starting mid-minute, admit 900 and the
// burst of one second's share (a sliding window would admit 1,200, its
// first minute's 600 at once), and never more than 600 plus the burst in
// any 60 seconds.
func TestRateOverNinetySeconds(t *testing.T) {
	l := open(t, sharedtest.URL(t), prefix()).Limits()
	key := &auth.Key{Name: "rpm", RequestsPerMinute: 600}
	start := time.Date(2026, 12, 6, 12, 0, 30, 0, time.UTC)
	var admitted []time.Time
	for i := range 90 * 20 {
		now := start.Add(time.Duration(i) * 50 * time.Millisecond)
		err := l.Reserve(t.Context(), key, 1, now)
		var le *auth.LimitError
		switch {
		case err == nil:
			admitted = append(admitted, now)
		case errors.As(err, &le):
		default:
			t.Fatal(err)
		}
	}
	if n := len(admitted); n < 900 || n > 911 {
		t.Errorf("%d admitted over 90 s, want 900 and at most the 10-request burst", n)
	}
	for i := range admitted {
		j := i
		for j < len(admitted) && admitted[j].Sub(admitted[i]) < time.Minute {
			j++
		}
		if j-i > 610 {
			t.Fatalf("%d admitted in the minute from %v", j-i, admitted[i])
		}
	}
}

// BenchmarkReserve is one shared reservation, sequential: the round trip
// a request with a limited key pays when the limits live in Redis.
func BenchmarkReserve(b *testing.B) {
	s, err := shared.Open(shared.Options{URL: sharedtest.URL(b), Prefix: prefix(), Log: zerolog.Nop()})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	l := s.Limits()
	key := &auth.Key{Name: "bench", RequestsPerMinute: 1_000_000_000, TokensPerMinute: 1_000_000_000}
	for b.Loop() {
		if err := l.Reserve(b.Context(), key, 10, time.Now()); err != nil {
			b.Fatal(err)
		}
	}
}
