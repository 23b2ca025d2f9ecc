package providers_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/providers/providertest"
)

var (
	t0       = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	fail503  = providers.FromStatus("p", 503, "overloaded")
	fail400  = providers.FromStatus("p", 400, "bad request")
	fail401  = providers.FromStatus("p", 401, "invalid key")
	transErr = providers.Transport("p", errors.New("connection refused"))
)

func mustAcquire(t *testing.T, h *providers.Health, now time.Time) bool {
	t.Helper()
	ok, probe := h.Acquire(now)
	if !ok {
		t.Fatalf("Acquire at %v refused; status %+v", now.Sub(t0), h.Status(now))
	}
	return probe
}

func TestCircuitOpensAfterMaxFailuresAndRecovers(t *testing.T) {
	h := providers.NewHealth(providers.HealthPolicy{MaxFailures: 3, RecoveryInterval: 10 * time.Second})
	now := t0
	for i := range 3 {
		probe := mustAcquire(t, h, now)
		h.Report(now, fail503, time.Millisecond, probe, false)
		if want := i < 2; h.Available(now) != want {
			t.Fatalf("after %d failures: available %v, want %v", i+1, !want, want)
		}
	}
	if st := h.Status(now); st.State != providers.CircuitOpen || st.ConsecutiveFailures != 3 || st.LastError == "" {
		t.Fatalf("status %+v", st)
	}
	// Still open just before the interval; half-open at it, one probe only.
	if ok, _ := h.Acquire(now.Add(9 * time.Second)); ok {
		t.Fatal("open circuit let a request through")
	}
	now = now.Add(10 * time.Second)
	probe := mustAcquire(t, h, now)
	if !probe {
		t.Fatal("first request after the interval is not a probe")
	}
	if ok, _ := h.Acquire(now); ok {
		t.Fatal("a second request got through while the probe is out")
	}
	// A failed probe opens it again for a whole interval.
	h.Report(now, transErr, time.Millisecond, probe, false)
	if ok, _ := h.Acquire(now.Add(5 * time.Second)); ok {
		t.Fatal("circuit not re-opened by a failed probe")
	}
	now = now.Add(10 * time.Second)
	probe = mustAcquire(t, h, now)
	h.Report(now, nil, time.Millisecond, probe, false)
	if st := h.Status(now); st.State != providers.CircuitClosed || st.ConsecutiveFailures != 0 {
		t.Fatalf("after a good probe: %+v", st)
	}
	mustAcquire(t, h, now)
	mustAcquire(t, h, now)
}

func TestUnusedProbeIsReleased(t *testing.T) {
	h := providers.NewHealth(providers.HealthPolicy{MaxFailures: 1, RecoveryInterval: time.Second})
	h.Report(t0, fail503, 0, false, false)
	now := t0.Add(time.Second)
	probe := mustAcquire(t, h, now)
	h.Release(probe)
	if !mustAcquire(t, h, now) {
		t.Fatal("released probe slot not handed out again")
	}
}

func TestClientErrorsAreSignsOfLife(t *testing.T) {
	h := providers.NewHealth(providers.HealthPolicy{MaxFailures: 2})
	h.Report(t0, fail503, 0, false, false)
	h.Report(t0, fail400, 0, false, false) // the request's fault: resets the count
	h.Report(t0, fail503, 0, false, false)
	if !h.Available(t0) {
		t.Fatalf("opened on non-consecutive failures: %+v", h.Status(t0))
	}
	if st := h.Status(t0); st.Requests != 3 || st.Failures != 2 {
		t.Fatalf("counts %+v", st)
	}
}

func TestAuthFailureOpensAtOnce(t *testing.T) {
	h := providers.NewHealth(providers.HealthPolicy{MaxFailures: 5, RecoveryInterval: time.Minute})
	h.Report(t0, fail401, 0, false, false)
	if h.Available(t0.Add(59 * time.Second)) {
		t.Fatal("a refused key did not open the circuit")
	}
	if !h.Available(t0.Add(time.Minute)) {
		t.Fatal("not half-open after the recovery interval")
	}
}

func TestRetryAfterPauses(t *testing.T) {
	h := providers.NewHealth(providers.HealthPolicy{MaxFailures: 5})
	e := providers.FromStatus("p", 429, "slow down")
	e.RetryAfter = 7
	h.Report(t0, e, 0, false, false)
	if h.Available(t0.Add(6 * time.Second)) {
		t.Fatal("Retry-After not honoured")
	}
	if st := h.Status(t0); st.State != providers.CircuitPaused || !st.Until.Equal(t0.Add(7*time.Second)) {
		t.Fatalf("status %+v: want paused for 7s", st)
	}
	if !h.Available(t0.Add(7 * time.Second)) {
		t.Fatal("still paused after Retry-After")
	}
}

func TestHealthStats(t *testing.T) {
	h := providers.NewHealth(providers.HealthPolicy{MaxFailures: 1000})
	for i := range 10 {
		var err error
		if i%5 == 0 {
			err = fail503
		}
		h.Report(t0, err, time.Duration(i+1)*time.Millisecond, false, false)
	}
	st := h.Status(t0)
	if st.Recent != 10 || st.ErrorRate != 0.2 || st.LatencyP50 != 5 || st.Requests != 10 || st.Failures != 2 {
		t.Fatalf("stats %+v, want 10 recent, error rate 0.2, p50 5ms", st)
	}
}

func TestRegistryKeepsStateAcrossGets(t *testing.T) {
	r := providers.NewRegistry()
	k := providers.HealthKey{Provider: "a", Model: "m"}
	h := r.Get(k, providers.HealthPolicy{MaxFailures: 1})
	h.Report(t0, fail503, 0, false, false)
	if r.Get(k, providers.HealthPolicy{MaxFailures: 9}) != h {
		t.Fatal("Get made a new Health for a known target")
	}
	r.Get(providers.HealthKey{Provider: "a", Model: "n"}, providers.HealthPolicy{})
	r.Get(providers.HealthKey{Provider: "b", Model: "m"}, providers.HealthPolicy{})
	r.TripProvider(t0, "a", errors.New("health check failed"))
	got := map[string]string{}
	for _, s := range r.Status(t0) {
		got[s.Provider+"/"+s.Model] = s.State
	}
	want := map[string]string{"a/m": "open", "a/n": "open", "b/m": "closed"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("states %v, want %v", got, want)
	}
	r.RecoverProvider("a")
	p := r.Pending()
	p.Get(k, providers.HealthPolicy{})
	p.Commit(nil)
	st := r.Status(t0)
	if len(st) != 1 || st[0].State != "closed" {
		t.Fatalf("after recover and commit: %+v", st)
	}
}

// TestPendingChangesNothingUntilCommit: a runtime under construction (a
// reload that may still fail) neither changes a running target's policy
// nor adds or removes targets; Commit does all three.
func TestPendingChangesNothingUntilCommit(t *testing.T) {
	r := providers.NewRegistry()
	k := providers.HealthKey{Provider: "a", Model: "m"}
	gone := providers.HealthKey{Provider: "old", Model: "m"}
	h := r.Get(k, providers.HealthPolicy{MaxFailures: 5, RecoveryInterval: time.Minute})
	r.Get(gone, providers.HealthPolicy{})

	p := r.Pending()
	if p.Get(k, providers.HealthPolicy{MaxFailures: 1, RecoveryInterval: time.Hour}) != h {
		t.Fatal("a pending runtime got a new breaker for a known target")
	}
	p.Get(providers.HealthKey{Provider: "new", Model: "m"}, providers.HealthPolicy{})
	// The reload fails here: p is dropped without Commit.
	h.Report(t0, fail503, 0, false, false)
	if st := h.Status(t0); st.State != providers.CircuitClosed {
		t.Fatalf("one failure opened the circuit under the uncommitted policy: %+v", st)
	}
	if got := len(r.Status(t0)); got != 2 {
		t.Fatalf("registry lists %d targets before Commit, want the 2 it had", got)
	}

	p.Commit(nil)
	h.Report(t0, fail503, 0, false, false)
	if st := h.Status(t0); st.State != providers.CircuitOpen || !st.Until.Equal(t0.Add(time.Hour)) {
		t.Fatalf("after Commit, want the new policy (open at one failure, for an hour): %+v", st)
	}
	var names []string
	for _, s := range r.Status(t0) {
		names = append(names, s.Provider)
	}
	if fmt.Sprint(names) != "[a new]" {
		t.Fatalf("after Commit the registry lists %v, want [a new]", names)
	}
}

// TestRepeatedFailuresOfOneRequestCountOnce: a request retried on the same
// target counts as one failure, so MaxFailures takes that many distinct
// requests.
func TestRepeatedFailuresOfOneRequestCountOnce(t *testing.T) {
	h := providers.NewHealth(providers.HealthPolicy{MaxFailures: 3})
	for req := range 2 {
		h.Report(t0, fail503, 0, false, false)
		h.Report(t0, fail503, 0, false, true)
		h.Report(t0, fail503, 0, false, true)
		if st := h.Status(t0); st.State != providers.CircuitClosed || st.ConsecutiveFailures != req+1 {
			t.Fatalf("after %d requests (3 attempts each): %+v, want closed with %d failures", req+1, st, req+1)
		}
	}
	h.Report(t0, fail503, 0, false, false)
	if st := h.Status(t0); st.State != providers.CircuitOpen {
		t.Fatalf("3 distinct failed requests: %+v, want open", st)
	}
	if st := h.Status(t0); st.Failures != 7 {
		t.Errorf("failures recorded %d, want every attempt (7)", st.Failures)
	}
}

func TestRegistryReportsStateChanges(t *testing.T) {
	r := providers.NewRegistry()
	var got []string
	r.OnChange = func(k providers.HealthKey, from, to string, reason error) {
		got = append(got, fmt.Sprintf("%s %s->%s %v", k, from, to, reason != nil))
	}
	h := r.Get(providers.HealthKey{Provider: "a", Model: "m"}, providers.HealthPolicy{MaxFailures: 2, RecoveryInterval: time.Second})
	h.Report(t0, fail503, 0, false, false)
	h.Report(t0, fail401, 0, false, false)
	probe := mustAcquire(t, h, t0.Add(time.Second))
	h.Report(t0.Add(time.Second), nil, 0, probe, false)
	want := []string{"a/m closed->open true", "a/m half-open->closed false"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("changes %q, want %q", got, want)
	}
}

// Within a priority, weights decide which target goes first: over 10,000
// requests each target's share is within 5% of its weight's share.
func TestChainWeights(t *testing.T) {
	up := providertest.OpenAI(t, providertest.Script{Text: "ok"})
	weights := []float64{5, 3, 2}
	c := &providers.Chain{Rand: rand.New(rand.NewPCG(7, 8))}
	for i, w := range weights {
		tg := target(fmt.Sprintf("t%d", i), up.URL, up.Client(), 0)
		tg.Weight = w
		c.Targets = append(c.Targets, tg)
	}
	// A lower-priority target is never first while the others are up.
	low := target("low", up.URL, up.Client(), 0)
	low.Priority = 1
	c.Targets = append(c.Targets, low)
	counts := map[string]int{}
	const n = 10000
	for range n {
		var tr providers.Trace
		if _, err := c.Complete(providers.WithTrace(t.Context(), &tr), newRequest(false)); err != nil {
			t.Fatal(err)
		}
		counts[tr.Target]++
	}
	for i, w := range weights {
		want := n * w / 10
		got := float64(counts[fmt.Sprintf("t%d/m", i)])
		if got < want*0.95 || got > want*1.05 {
			t.Errorf("t%d (weight %v): %v of %d, want %v ± 5%%", i, w, got, n, want)
		}
	}
	if counts["low/m"] != 0 {
		t.Errorf("the priority-1 target served %d requests", counts["low/m"])
	}
}

// Without weights, targets of one priority keep list order; priorities
// sort before list order.
func TestChainPriorityOrder(t *testing.T) {
	a := providertest.OpenAI(t, providertest.Script{Status: 503})
	b := providertest.OpenAI(t, providertest.Script{Status: 503})
	c3 := providertest.OpenAI(t, providertest.Script{Text: "third"})
	ta, tb, tc := target("a", a.URL, a.Client(), 0), target("b", b.URL, b.Client(), 0), target("c", c3.URL, c3.Client(), 0)
	ta.Priority, tb.Priority, tc.Priority = 2, 1, 1
	c := &providers.Chain{Targets: []providers.Target{ta, tb, tc}}
	var tr providers.Trace
	text, err := run(providers.WithTrace(t.Context(), &tr), c, false)
	if err != nil || text != "third" {
		t.Fatalf("text %q err %v", text, err)
	}
	if len(tr.Attempts) != 2 || tr.Attempts[0].Target != "b/m" || tr.Attempts[1].Target != "c/m" || a.Requests() != 0 {
		t.Fatalf("attempts %+v, a got %d", tr.Attempts, a.Requests())
	}
}

// An open circuit is skipped without a request; when every target is
// skipped the chain answers 503 naming itself.
func TestChainSkipsOpenCircuits(t *testing.T) {
	a := providertest.OpenAI(t, providertest.Script{Status: 500})
	b := providertest.OpenAI(t, providertest.Script{Text: "b"})
	reg := providers.NewRegistry()
	pol := providers.HealthPolicy{MaxFailures: 2, RecoveryInterval: time.Hour}
	ta, tb := target("a", a.URL, a.Client(), 0), target("b", b.URL, b.Client(), 0)
	ta.Health = reg.Get(providers.HealthKey{Provider: "a", Model: "m"}, pol)
	tb.Health = reg.Get(providers.HealthKey{Provider: "b", Model: "m"}, pol)
	c := &providers.Chain{Name: `route "code"`, Targets: []providers.Target{ta, tb}}
	for range 5 {
		if text, err := run(t.Context(), c, false); err != nil || text != "b" {
			t.Fatalf("text %q err %v", text, err)
		}
	}
	if a.Requests() != 2 || b.Requests() != 5 {
		t.Fatalf("requests a=%d b=%d, want a to stop at 2 (its circuit open)", a.Requests(), b.Requests())
	}
	tb.Health.Trip(time.Now(), errors.New("down"))
	_, err := run(t.Context(), c, true)
	if got := status(t, err); got != http.StatusServiceUnavailable || !errors.Is(err, providers.ErrUnavailable) {
		t.Fatalf("all open: status %d err %v", got, err)
	}
	if msg := err.Error(); !contains(msg, `route "code"`) || !contains(msg, "a/m") || !contains(msg, "b/m") {
		t.Errorf("message %q should name the route and its targets", msg)
	}
	if a.Requests() != 2 || b.Requests() != 5 {
		t.Errorf("an open circuit got a request: a=%d b=%d", a.Requests(), b.Requests())
	}
}

func contains(s, sub string) bool { return len(sub) == 0 || len(s) >= len(sub) && index(s, sub) >= 0 }

func index(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

// A stream that sends nothing with content within first_byte_timeout
// fails over; the held-back role chunk of the stalled upstream never
// reaches the client.
func TestChainFirstByteTimeout(t *testing.T) {
	stall := providertest.OpenAI(t, providertest.Script{Chunks: []string{"late"}, FirstChunkDelay: 5 * time.Second})
	backup := providertest.OpenAI(t, providertest.Script{Chunks: []string{"Back", "up"}})
	ts := target("stall", stall.URL, stall.Client(), 0)
	ts.FirstByteTimeout = 100 * time.Millisecond
	c := &providers.Chain{Targets: []providers.Target{ts, target("backup", backup.URL, backup.Client(), 0)}}
	var chunks []providers.Chunk
	start := time.Now()
	err := c.Stream(t.Context(), newRequest(true), func(ch providers.Chunk) error {
		chunks = append(chunks, ch)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("failover took %v", d)
	}
	var text string
	for _, ch := range chunks {
		text += ch.Text
		if ch.Model != "" && ch.Model != "backup-model" {
			t.Errorf("chunk from %q reached the client", ch.Model)
		}
	}
	if text != "Backup" || stall.Requests() != 1 || backup.Requests() != 1 {
		t.Fatalf("text %q, requests %d and %d", text, stall.Requests(), backup.Requests())
	}
	waitFor(t, "the stalled upstream to see its request closed", func() bool { return stall.Canceled() == 1 })
}

// A Retry-After of years pauses a target for MaxRetryAfterPause at most.
func TestRetryAfterIsCapped(t *testing.T) {
	h := providers.NewHealth(providers.HealthPolicy{MaxFailures: 5})
	e := providers.FromStatus("p", 503, "come back in ten years")
	e.RetryAfter = 315360000
	h.Report(t0, e, 0, false, false)
	if h.Available(t0.Add(providers.MaxRetryAfterPause - time.Second)) {
		t.Fatal("not paused")
	}
	if !h.Available(t0.Add(providers.MaxRetryAfterPause)) {
		t.Fatalf("still paused after %v: status %+v", providers.MaxRetryAfterPause, h.Status(t0))
	}
}

// TestTwoBadRequestsCannotOpenTheCircuit: an upstream that answers 500 to
// whatever two requests contain, each tried 1 + max_retries times on the
// one target, leaves the circuit closed for everyone else; five distinct
// failing requests in a row (a sick upstream) open it.
func TestTwoBadRequestsCannotOpenTheCircuit(t *testing.T) {
	up := providertest.OpenAI(t, providertest.Script{Status: 500})
	tg := target("up", up.URL, up.Client(), 0)
	tg.Health = providers.NewHealth(providers.HealthPolicy{}) // default: 5
	c := &providers.Chain{Targets: []providers.Target{tg}, Retries: 2, Backoff: time.Millisecond}
	for range 2 {
		if _, err := c.Complete(context.Background(), newRequest(false)); err == nil {
			t.Fatal("a 500 succeeded")
		}
	}
	if n := up.Requests(); n != 6 {
		t.Fatalf("upstream saw %d attempts, want 6 (2 requests × 3)", n)
	}
	if st := tg.Health.Status(time.Now()); st.State != providers.CircuitClosed {
		t.Fatalf("two bad requests opened the circuit: %+v", st)
	}
	for range 3 {
		c.Complete(context.Background(), newRequest(false))
	}
	if st := tg.Health.Status(time.Now()); st.State != providers.CircuitOpen {
		t.Fatalf("five failed requests in a row left it %s, want open", st.State)
	}
}
