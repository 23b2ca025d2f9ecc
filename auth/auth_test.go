package auth

import (
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 6, 12, 0, 30, 0, time.UTC)

func ring(t *testing.T, keys ...Key) *Keyring {
	t.Helper()
	r, err := NewKeyring(keys)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestKeyringCheck(t *testing.T) {
	r := ring(t,
		Key{Name: "alice", Enabled: true}.WithHash(Hash("sk-alice")),
		Key{Name: "old", Enabled: true, Expires: t0}.WithHash(Hash("sk-old")),
		Key{Name: "off", Enabled: false}.WithHash(Hash("sk-off")),
	)
	tests := []struct {
		secret string
		want   string
		err    error
	}{
		{"sk-alice", "alice", nil},
		{"", "", ErrNoKey},
		{"sk-bob", "", ErrUnknownKey},
		{"sk-old", "", ErrExpired},
		{"sk-off", "", ErrDisabled},
	}
	for _, tt := range tests {
		k, err := r.Check(tt.secret, t0)
		if !errors.Is(err, tt.err) || (k != nil && k.Name != tt.want) || (k == nil) != (tt.want == "") {
			t.Errorf("Check(%q) = %v, %v; want %q, %v", tt.secret, k, err, tt.want, tt.err)
		}
		if tt.err != nil && Status(err) != http.StatusUnauthorized {
			t.Errorf("Status(%v) = %d, want 401", err, Status(err))
		}
	}
	if k, err := r.Check("sk-old", t0.Add(-time.Second)); err != nil || k.Name != "old" {
		t.Errorf("a key before its expiry: %v, %v", k, err)
	}
	if _, err := NewKeyring([]Key{Key{Name: "a"}.WithHash(Hash("x")), Key{Name: "b"}.WithHash(Hash("x"))}); err == nil {
		t.Error("two keys with one secret were accepted")
	}
}

func TestFromRequest(t *testing.T) {
	tests := []struct {
		header, value, want string
	}{
		{"Authorization", "Bearer sk-1", "sk-1"},
		{"Authorization", "bearer  sk-2 ", "sk-2"},
		{"X-Api-Key", "sk-3", "sk-3"},
		{"Authorization", "sk-4", "sk-4"},
		{"Authorization", "Basic dXNlcjpwYXNz", ""},
		{"Authorization", "", ""},
	}
	for _, tt := range tests {
		r, _ := http.NewRequest(http.MethodPost, "/", nil)
		r.Header.Set(tt.header, tt.value)
		if got := FromRequest(r); got != tt.want {
			t.Errorf("%s: %q → %q, want %q", tt.header, tt.value, got, tt.want)
		}
	}
}

func TestKeyAllows(t *testing.T) {
	k := Key{Models: []string{"code", "gpt-4o"}}
	if !k.Allows("code") || k.Allows("auto") || k.Allows("o3") {
		t.Error("an allowlist lets through what it does not name, or refuses what it does")
	}
	if !(&Key{}).Allows("anything") {
		t.Error("an empty allowlist refuses")
	}
}

// limiterAt returns a limiter whose clock the test moves.
func limiterAt(now *time.Time) *Limiter {
	l := NewLimiter()
	l.now = func() time.Time { return *now }
	return l
}

func TestRequestsPerMinute(t *testing.T) {
	now := t0
	l := limiterAt(&now)
	k := &Key{Name: "k", RequestsPerMinute: 2}
	for range 2 {
		if _, err := l.Reserve(k, 0); err != nil {
			t.Fatal(err)
		}
	}
	_, err := l.Reserve(k, 0)
	var le *LimitError
	if !errors.As(err, &le) || le.Limit != "requests per minute" || le.Max != 2 || Status(err) != http.StatusTooManyRequests {
		t.Fatalf("third request: %v, want the requests-per-minute limit", err)
	}
	// Both requests were in the window 12:00:00–12:01:00; at 12:00:30 the
	// next one fits from 12:01:00 on, but the previous window's share
	// then still counts until it has decayed.
	if ra := le.RetryAfter(); ra < 30 || ra > 60 {
		t.Errorf("Retry-After %ds, want 30–60", ra)
	}
	now = now.Add(time.Duration(le.RetryAfter()) * time.Second)
	if _, err := l.Reserve(k, 0); err != nil {
		// One more second at most: the estimate is rounded up.
		now = now.Add(time.Second)
		if _, err := l.Reserve(k, 0); err != nil {
			t.Errorf("after Retry-After: %v", err)
		}
	}
}

func TestTokensSettle(t *testing.T) {
	now := t0
	l := limiterAt(&now)
	k := &Key{Name: "k", TokensPerMinute: 1000}
	r, err := l.Reserve(k, 900)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Reserve(k, 200); err == nil {
		t.Fatal("a reservation over the limit was granted")
	}
	r.Settle(100, 0) // it used far less than estimated
	r.Settle(5000, 0)
	if _, err := l.Reserve(k, 800); err != nil {
		t.Fatalf("after settling at 100, 800 more should fit in 1000: %v", err)
	}
	if _, err := l.Reserve(k, 200); err == nil {
		t.Fatal("100 + 800 + 200 > 1000 was granted")
	}
}

// TestEmptyWindowAdmitsOneBigRequest: a request larger than the token
// limit is let through when nothing else was spent, rather than locking
// the key out for good.
func TestEmptyWindowAdmitsOneBigRequest(t *testing.T) {
	now := t0
	l := limiterAt(&now)
	k := &Key{Name: "k", TokensPerMinute: 100}
	if _, err := l.Reserve(k, 500); err != nil {
		t.Fatalf("first big request: %v", err)
	}
	if _, err := l.Reserve(k, 1); err == nil {
		t.Fatal("the window is over its limit, yet a request was granted")
	}
}

// TestConcurrentReservationsHoldTheLimit: 200 concurrent requests of 100
// tokens each against 5,000 tokens per minute: exactly 50 are granted.
func TestConcurrentReservationsHoldTheLimit(t *testing.T) {
	now := t0
	l := limiterAt(&now)
	k := &Key{Name: "k", TokensPerMinute: 5000}
	var mu sync.Mutex
	granted := 0
	var wg sync.WaitGroup
	for range 200 {
		wg.Go(func() {
			r, err := l.Reserve(k, 100)
			if err != nil {
				return
			}
			r.Settle(100, 0)
			mu.Lock()
			granted++
			mu.Unlock()
		})
	}
	wg.Wait()
	if granted != 50 {
		t.Errorf("granted %d requests of 100 tokens under 5000 per minute, want 50", granted)
	}
}

// TestBudgetStopsTheNextRequest: the request that crosses the daily
// budget runs (its cost is known only at its end); the next is refused
// until midnight UTC, and the month's budget holds across days.
func TestBudgetStopsTheNextRequest(t *testing.T) {
	now := t0
	l := limiterAt(&now)
	k := &Key{Name: "k", BudgetDay: 1.0, BudgetMonth: 1.5}
	r1, err := l.Reserve(k, 10)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := l.Reserve(k, 10) // in flight beside r1
	if err != nil {
		t.Fatal(err)
	}
	r1.Settle(10, 0.7)
	r2.Settle(10, 0.7) // 1.4: over the day's budget, but it was in flight
	_, err = l.Reserve(k, 10)
	var le *LimitError
	if !errors.As(err, &le) || le.Limit != "USD per day" {
		t.Fatalf("after spending 1.4 of 1.0: %v, want the daily budget", err)
	}
	if want := 11*time.Hour + 59*time.Minute + 30*time.Second; le.Retry != want {
		t.Errorf("retry in %v, want %v (midnight UTC)", le.Retry, want)
	}
	now = now.Add(12 * time.Hour) // the next day
	r3, err := l.Reserve(k, 10)
	if err != nil {
		t.Fatalf("next day: %v", err)
	}
	r3.Settle(10, 0.2) // 1.6 this month
	if _, err := l.Reserve(k, 10); !errors.As(err, &le) || le.Limit != "USD per month" {
		t.Fatalf("after 1.6 of a 1.5 month: %v, want the monthly budget", err)
	}
}

// TestSpentSeedsBudgets: spend read from the usage store at start counts.
func TestSpentSeedsBudgets(t *testing.T) {
	now := t0
	l := limiterAt(&now)
	l.Spent(map[string]float64{"k": 2}, map[string]float64{"k": 2})
	if _, err := l.Reserve(&Key{Name: "k", BudgetDay: 2}, 1); err == nil {
		t.Fatal("a key that spent its budget before a restart was let through")
	}
}
