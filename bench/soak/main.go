// Command soak runs switchyard for a long time under steady load with
// injected upstream faults and periodic config reloads, and checks that
// no client sees a failure a healthy target could have served and that
// the process does not grow. bench/soak.sh builds switchyard and runs it;
// docs/SOAK.md describes the method and holds the last results.
//
// Two fake OpenAI upstreams run in this process: "flaky" fails a share of
// requests before any content (5xx, 503 with Retry-After, connection
// reset or closed, malformed body, a stall past first_byte_timeout) and
// cuts a share of its streams after the first content chunk; "healthy"
// never fails. The switchyard binary runs as a child process, serving an
// alias whose chain is flaky then healthy, with the admin endpoints on.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

type options struct {
	bin        string
	duration   time.Duration
	warmup     time.Duration
	rate       float64
	failRate   float64
	cutRate    float64
	streams    float64
	reload     time.Duration
	sample     time.Duration
	chunkDelay time.Duration
	doc        string
	workdir    string
}

func main() {
	var o options
	flag.StringVar(&o.bin, "bin", "", "switchyard binary (required; bench/soak.sh builds it)")
	flag.DurationVar(&o.duration, "duration", 10*time.Minute, "how long to run the load, warm-up included")
	flag.DurationVar(&o.warmup, "warmup", 15*time.Second, "load before the start figures are taken")
	flag.Float64Var(&o.rate, "rate", 200, "requests per second, open loop")
	flag.Float64Var(&o.failRate, "fail", 0.05, "share of flaky-upstream requests that fail before any content")
	flag.Float64Var(&o.cutRate, "cut", 0.02, "share of flaky-upstream streams cut after the first content chunk")
	flag.Float64Var(&o.streams, "streams", 0.5, "share of requests that stream")
	flag.DurationVar(&o.reload, "reload", 30*time.Second, "config rewrite period")
	flag.DurationVar(&o.sample, "sample", 10*time.Second, "process figures sampling period")
	flag.DurationVar(&o.chunkDelay, "chunk-delay", 3*time.Millisecond, "upstream delay between stream chunks")
	flag.StringVar(&o.doc, "doc", "docs/SOAK.md", "markdown report to write; empty for none")
	flag.StringVar(&o.workdir, "workdir", "", "directory for the config and switchyard's log (default a new temporary one)")
	flag.Parse()
	if o.bin == "" {
		fmt.Fprintln(os.Stderr, "soak: -bin is required (use bench/soak.sh)")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
	fmt.Print(rep.text())
	if o.doc != "" {
		if err := os.WriteFile(o.doc, []byte(rep.markdown()), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "soak:", err)
			os.Exit(1)
		}
		fmt.Println("wrote", o.doc)
	}
	if !rep.pass() {
		os.Exit(1)
	}
}

// serveLocal serves h on a free loopback port until ctx is done.
func serveLocal(ctx context.Context, h http.Handler) (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l)
	context.AfterFunc(ctx, func() { srv.Close() })
	return "http://" + l.Addr().String(), nil
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

const configTemplate = `# switchyard soak config, rewritten every reload period (tick %d)
listen: %s
log: {level: warn, format: json}
admin: {token_env: SOAK_ADMIN_TOKEN}
providers:
  - {name: flaky, kind: openai, base_url: %s/v1, timeout: 2s, first_byte_timeout: 500ms, max_failures: 3, recovery_interval: 2s}
  - {name: healthy, kind: openai, base_url: %s/v1, timeout: 2s, first_byte_timeout: 500ms}
aliases:
  soak: [{provider: flaky, model: m-flaky}, {provider: healthy, model: m-healthy}]
  spare: [{provider: healthy, model: m-healthy, weight: %d}]
routing: {max_retries: 2}
`

// processStats is GET /admin/status's "process".
type processStats struct {
	Goroutines int    `json:"goroutines"`
	HeapBytes  uint64 `json:"heap_bytes"`
	RSSBytes   uint64 `json:"rss_bytes"`
}

type status struct {
	Generation int64         `json:"generation"`
	Process    *processStats `json:"process"`
}

type admin struct {
	base, token string
	hc          *http.Client
}

func (a admin) status(ctx context.Context) (status, error) {
	var st status
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, a.base+"/admin/status", nil)
	req.Header.Set("Authorization", "Bearer "+a.token)
	resp, err := a.hc.Do(req)
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return st, fmt.Errorf("GET /admin/status: %d %s", resp.StatusCode, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return st, err
	}
	if st.Process == nil {
		return st, errors.New("GET /admin/status has no process figures")
	}
	return st, nil
}

// sample is the process figures at one moment.
type sample struct {
	at         time.Duration // since the load started
	label      string
	generation int64
	processStats
	requests int64
}

func run(ctx context.Context, o options) (*report, error) {
	rep := &report{opts: o, started: time.Now(), counts: map[string]map[string]int64{}, reasons: map[string]int64{}, targets: map[string]int64{}}
	if o.workdir == "" {
		dir, err := os.MkdirTemp("", "switchyard-soak-")
		if err != nil {
			return nil, err
		}
		o.workdir = dir
	}
	rep.workdir = o.workdir

	upCtx, stopUpstreams := context.WithCancel(context.Background())
	defer stopUpstreams()
	flaky := newUpstream("flaky", o.failRate, o.cutRate, o.chunkDelay)
	healthy := newUpstream("healthy", 0, 0, o.chunkDelay)
	rep.flaky, rep.healthy = flaky, healthy
	flakyURL, err := serveLocal(upCtx, flaky)
	if err != nil {
		return nil, err
	}
	healthyURL, err := serveLocal(upCtx, healthy)
	if err != nil {
		return nil, err
	}
	listen, err := freePort()
	if err != nil {
		return nil, err
	}
	cfgPath := filepath.Join(o.workdir, "config.yaml")
	tick := 0
	writeConfig := func(atomic bool) error {
		text := fmt.Sprintf(configTemplate, tick, listen, flakyURL, healthyURL, 1+tick%2)
		if !atomic {
			return os.WriteFile(cfgPath, []byte(text), 0o644)
		}
		tmp := cfgPath + ".tmp"
		if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
			return err
		}
		return os.Rename(tmp, cfgPath)
	}
	if err := writeConfig(false); err != nil {
		return nil, err
	}

	tok := make([]byte, 16)
	rand.Read(tok)
	token := hex.EncodeToString(tok)
	logFile, err := os.Create(filepath.Join(o.workdir, "switchyard.log"))
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	rep.logPath = logFile.Name()
	cmd := exec.Command(o.bin, "serve", "--config", cfgPath)
	// The usage store lives in the run's work dir, not the user's.
	cmd.Env = append(os.Environ(), "SOAK_ADMIN_TOKEN="+token, "XDG_DATA_HOME="+filepath.Join(o.workdir, "data"))
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		select {
		case <-exited:
			return
		default:
		}
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			rep.exit = fmt.Sprint(err)
		case <-time.After(40 * time.Second):
			cmd.Process.Kill()
			rep.exit = "killed after 40s"
		}
	}()

	base := "http://" + listen
	adm := admin{base: base, token: token, hc: &http.Client{}}
	if err := waitReady(ctx, adm, exited); err != nil {
		return nil, fmt.Errorf("%w (see %s)", err, rep.logPath)
	}
	answers := []string{answerText(flaky.prefix), answerText(healthy.prefix)}
	cl := newClient(base, answers)

	loadCtx, stopLoad := context.WithTimeout(ctx, o.duration)
	defer stopLoad()
	results := make(chan result, 4096)
	var inflight sync.WaitGroup
	var sent atomic.Int64
	var peakInflight, cur atomic.Int64
	loadStart := time.Now()
	rep.loadStart = loadStart

	// Open loop: request i is sent at loadStart + i/rate whether or not
	// earlier ones have finished.
	go func() {
		interval := time.Duration(float64(time.Second) / o.rate)
		for i := 0; ; i++ {
			at := loadStart.Add(time.Duration(i) * interval)
			if d := time.Until(at); d > 0 {
				select {
				case <-loadCtx.Done():
					return
				case <-time.After(d):
				}
			} else if loadCtx.Err() != nil {
				return
			}
			stream := mrand.Float64() < o.streams
			sent.Add(1)
			inflight.Add(1)
			if n := cur.Add(1); n > peakInflight.Load() {
				peakInflight.Store(n)
			}
			go func() {
				defer inflight.Done()
				defer cur.Add(-1)
				// Each request has its own deadline, not loadCtx: the last
				// ones finish after the load stops.
				rctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				results <- cl.do(rctx, "soak", stream)
			}()
		}
	}()
	collected := make(chan struct{})
	var latencies []time.Duration
	go func() {
		defer close(collected)
		for r := range results {
			rep.add(r)
			if r.outcome == outcomeOK {
				latencies = append(latencies, r.took)
			}
		}
	}()

	takeSample := func(label string) (sample, error) {
		st, err := adm.status(context.Background())
		if err != nil {
			return sample{}, err
		}
		s := sample{at: time.Since(loadStart).Round(time.Second), label: label, generation: st.Generation, processStats: *st.Process, requests: sent.Load()}
		rep.samples = append(rep.samples, s)
		return s, nil
	}

	// Reloads: rewrite the config (alternately in place and by rename)
	// and check the generation moves.
	var reloadWG sync.WaitGroup
	reloadWG.Add(1)
	go func() {
		defer reloadWG.Done()
		t := time.NewTicker(o.reload)
		defer t.Stop()
		for {
			select {
			case <-loadCtx.Done():
				return
			case <-t.C:
			}
			before, err := adm.status(loadCtx)
			if err != nil {
				if loadCtx.Err() == nil {
					rep.problem(err.Error())
				}
				continue
			}
			tick++
			if err := writeConfig(tick%2 == 0); err != nil {
				rep.problem(err.Error())
				continue
			}
			rep.reloadsAsked++
			deadline := time.Now().Add(10 * time.Second)
			for {
				st, err := adm.status(loadCtx)
				if err == nil && st.Generation > before.Generation {
					rep.reloadsSeen++
					break
				}
				if loadCtx.Err() != nil {
					rep.reloadsAsked-- // the run ended first: not a failed reload
					break
				}
				if time.Now().After(deadline) {
					rep.problem(fmt.Sprintf("tick %d: generation still %d after 10s", tick, before.Generation))
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
	}()

	// Warm-up, then the start figures, then a sample every period.
	select {
	case <-loadCtx.Done():
	case <-time.After(o.warmup):
	}
	if _, err := takeSample("start (after warm-up)"); err != nil {
		return nil, err
	}
	t := time.NewTicker(o.sample)
sampling:
	for {
		select {
		case <-loadCtx.Done():
			break sampling
		case <-t.C:
			if time.Until(loadStart.Add(o.duration)) < o.sample/2 {
				continue // the end figures follow
			}
			if _, err := takeSample(""); err != nil {
				rep.problem("sample: " + err.Error())
			}
		case err := <-exited:
			return nil, fmt.Errorf("switchyard exited during the run: %v (see %s)", err, rep.logPath)
		}
	}
	t.Stop()
	if ctx.Err() != nil {
		rep.interrupted = true
	}
	if _, err := takeSample("end (under load)"); err != nil {
		return nil, err
	}
	rep.loadTook = time.Since(loadStart)
	inflight.Wait()
	reloadWG.Wait()
	close(results)
	<-collected
	rep.latencies = latencies
	rep.peakInflight = peakInflight.Load()
	// Idle: give keep-alive connections and finished handlers a moment.
	time.Sleep(3 * time.Second)
	if _, err := takeSample("end (idle, 3s after the load)"); err != nil {
		return nil, err
	}
	rep.finish()
	return rep, nil
}

func waitReady(ctx context.Context, adm admin, exited <-chan error) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-exited:
			return fmt.Errorf("switchyard exited at start: %v", err)
		default:
		}
		if _, err := adm.status(ctx); err == nil {
			return nil
		} else if time.Now().After(deadline) {
			return fmt.Errorf("switchyard not ready after 30s: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// report gathers the run's figures.
type report struct {
	opts                      options
	workdir, logPath          string
	started, loadStart        time.Time
	loadTook                  time.Duration
	interrupted               bool
	flaky, healthy            *upstream
	counts                    map[string]map[string]int64 // "stream"/"non-stream" → outcome → n
	reasons                   map[string]int64            // outcome: reason → n, for all but ok
	targets                   map[string]int64
	total                     int64
	latencies                 []time.Duration
	peakInflight              int64
	samples                   []sample
	reloadsAsked, reloadsSeen int
	reloadErrors              []string
	leaks                     int64 // results whose error showed an upstream's secret or an address
	exit                      string
	mu                        sync.Mutex
}

func (r *report) add(res result) {
	if strings.HasPrefix(res.reason, leakedMark) {
		r.leaks++
	}
	kind := "non-stream"
	if res.stream {
		kind = "stream"
	}
	if r.counts[kind] == nil {
		r.counts[kind] = map[string]int64{}
	}
	r.counts[kind][res.outcome]++
	r.total++
	if res.outcome != outcomeOK {
		r.reasons[res.outcome+": "+res.reason]++
	}
	if res.target != "" {
		r.targets[res.target]++
	}
}

// problem records a reload or sampling problem; safe for concurrent use.
func (r *report) problem(msg string) {
	r.mu.Lock()
	r.reloadErrors = append(r.reloadErrors, msg)
	r.mu.Unlock()
}

func (r *report) finish() {
	slices.Sort(r.latencies)
}

func (r *report) outcome(o string) int64 { return r.counts["stream"][o] + r.counts["non-stream"][o] }

func (r *report) quantile(q float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	return r.latencies[int(math.Ceil(q*float64(len(r.latencies))))-1]
}

// leak thresholds: idle goroutines may exceed the start figure by this
// many (connections kept alive), and the end heap may be this much above
// the start heap plus its own half (GC timing).
const (
	goroutineSlack = 25
	heapSlack      = 32 << 20
)

func (r *report) startEnd() (start, end, idle sample, ok bool) {
	var haveS, haveE, haveI bool
	for _, s := range r.samples {
		switch {
		case strings.HasPrefix(s.label, "start"):
			start, haveS = s, true
		case strings.HasPrefix(s.label, "end (under"):
			end, haveE = s, true
		case strings.HasPrefix(s.label, "end (idle"):
			idle, haveI = s, true
		}
	}
	return start, end, idle, haveS && haveE && haveI
}

func (r *report) goroutinesOK() bool {
	s, _, i, ok := r.startEnd()
	return ok && i.Goroutines <= s.Goroutines+goroutineSlack
}

func (r *report) heapOK() bool {
	s, e, _, ok := r.startEnd()
	return ok && e.HeapBytes <= s.HeapBytes+s.HeapBytes/2+heapSlack
}

func (r *report) pass() bool {
	return r.outcome(outcomeFailedEarly) == 0 && r.outcome(outcomeOther) == 0 && r.leaks == 0 &&
		r.goroutinesOK() && r.heapOK() && r.reloadsSeen == r.reloadsAsked && r.reloadsAsked > 0 && !r.interrupted
}

func mib(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func verdict(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

func (r *report) text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "\nswitchyard soak: %v at %.0f req/s (%d requests, peak %d in flight), fail %.0f%%, cut %.0f%%, reload every %v\n",
		r.loadTook.Round(time.Second), r.opts.rate, r.total, r.peakInflight, 100*r.opts.failRate, 100*r.opts.cutRate, r.opts.reload)
	b.WriteString(r.tables(false))
	fmt.Fprintf(&b, "\nverdict: %s (work dir %s, switchyard log %s)\n", verdict(r.pass()), r.workdir, r.logPath)
	return b.String()
}

func (r *report) markdown() string {
	var b strings.Builder
	b.WriteString(docMethod)
	fmt.Fprintf(&b, "\n## Results\n\nRun of %s: %v of load at %.0f req/s (%d requests; peak %d in flight), flaky failure rate %.0f %%, stream cut rate %.0f %%, config rewritten every %v, warm-up %v. Command: `bench/soak.sh --duration %v`.\n\n",
		r.started.UTC().Format("2006-01-02 15:04 MST"), r.loadTook.Round(time.Second), r.opts.rate, r.total, r.peakInflight,
		100*r.opts.failRate, 100*r.opts.cutRate, r.opts.reload, r.opts.warmup, r.opts.duration)
	if r.opts.duration < 10*time.Minute {
		b.WriteString("> This is a short trial run, not the full 10-minute soak.\n\n")
	}
	b.WriteString(r.tables(true))
	fmt.Fprintf(&b, "\n**Verdict: %s.**\n", verdict(r.pass()))
	return b.String()
}

// tables renders the results, as markdown or plain text.
func (r *report) tables(md bool) string {
	var b strings.Builder
	row := func(cells ...string) {
		if md {
			b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
			return
		}
		b.WriteString("  ")
		for i, c := range cells {
			if i == 0 {
				fmt.Fprintf(&b, "%-62s", c)
			} else {
				fmt.Fprintf(&b, " %16s", c)
			}
		}
		b.WriteString("\n")
	}
	head := func(title string, cells ...string) {
		if md {
			fmt.Fprintf(&b, "\n### %s\n\n", title)
			row(cells...)
			seps := make([]string, len(cells))
			for i := range seps {
				seps[i] = "---"
				if i > 0 {
					seps[i] = "---:"
				}
			}
			row(seps...)
			return
		}
		fmt.Fprintf(&b, "\n%s\n", title)
		row(cells...)
	}
	n := func(v int64) string { return fmt.Sprint(v) }

	head("Client outcomes", "outcome", "non-stream", "stream", "total", "must be")
	for _, o := range []struct{ name, want string }{
		{outcomeOK, ""},
		{outcomeFailedEarly, "0"},
		{outcomeCut, "(by design)"},
		{outcomeOther, "0"},
	} {
		row(o.name, n(r.counts["non-stream"][o.name]), n(r.counts["stream"][o.name]), n(r.outcome(o.name)), o.want)
	}
	fmt.Fprintf(&b, "\nLatency of ok requests (to the end of the answer): p50 %v, p99 %v.\n",
		r.quantile(0.5).Round(100*time.Microsecond), r.quantile(0.99).Round(100*time.Microsecond))

	if len(r.reasons) > 0 {
		head("Outcomes other than ok, by reason", "reason", "count")
		keys := slices.Collect(maps.Keys(r.reasons))
		sort.Slice(keys, func(i, j int) bool { return r.reasons[keys[i]] > r.reasons[keys[j]] })
		for i, k := range keys {
			if i == 15 {
				row(fmt.Sprintf("(%d more reasons)", len(keys)-15), "")
				break
			}
			row(strings.ReplaceAll(k, "|", "/"), n(r.reasons[k]))
		}
	}

	head("Upstreams", "upstream", "requests", "answered by it")
	row("flaky", n(r.flaky.requests.Load()), n(r.targets["flaky/m-flaky"]))
	row("healthy", n(r.healthy.requests.Load()), n(r.targets["healthy/m-healthy"]))
	head("Faults injected by the flaky upstream", "fault", "count")
	faults := r.flaky.faultCounts()
	var injected int64
	for _, k := range faultKinds {
		row(k.name, n(faults[k.name]))
		injected += faults[k.name]
	}
	row("all failures before content", n(injected))
	row("streams cut after the first content chunk", n(r.flaky.cuts.Load()))

	s, e, i, ok := r.startEnd()
	head("Process (GET /admin/status)", "when", "goroutines", "heap", "rss", "generation")
	for _, sm := range r.samples {
		label := sm.label
		if label == "" {
			label = "t+" + sm.at.String()
		}
		row(label, n(int64(sm.Goroutines)), mib(sm.HeapBytes), mib(sm.RSSBytes), n(sm.generation))
	}
	head("Checks", "check", "figures", "result")
	row("client-visible failures a healthy target could have served", n(r.outcome(outcomeFailedEarly)), verdict(r.outcome(outcomeFailedEarly) == 0))
	row("other anomalies (wrong answer, cut without error event)", n(r.outcome(outcomeOther)), verdict(r.outcome(outcomeOther) == 0))
	row("client-visible errors showing an upstream's secret, key or address", n(r.leaks), verdict(r.leaks == 0))
	if ok {
		row(fmt.Sprintf("goroutines: idle end ≤ start + %d", goroutineSlack), fmt.Sprintf("%d → %d (under load %d)", s.Goroutines, i.Goroutines, e.Goroutines), verdict(r.goroutinesOK()))
		row("heap: end ≤ 1.5 × start + 32 MiB", fmt.Sprintf("%s → %s", mib(s.HeapBytes), mib(e.HeapBytes)), verdict(r.heapOK()))
		row("rss (for information)", fmt.Sprintf("%s → %s", mib(s.RSSBytes), mib(e.RSSBytes)), "")
	}
	row("reloads seen (generation moved) / config rewrites", fmt.Sprintf("%d / %d", r.reloadsSeen, r.reloadsAsked), verdict(r.reloadsSeen == r.reloadsAsked && r.reloadsAsked > 0))
	for _, e := range r.reloadErrors {
		row("reload problem: "+e, "")
	}
	return b.String()
}

const docMethod = `# Soak test

A soak run keeps switchyard under steady load for a long time while its
upstreams misbehave and its configuration is reloaded, and checks two
things: no client sees a failure that a healthy target could have served,
and the process does not grow (goroutines, memory).

Run it with

    bench/soak.sh --duration 10m

which builds ` + "`switchyard`" + ` and ` + "`bench/soak`" + `, runs the soak, prints a summary
and rewrites this file. Every flag of ` + "`bench/soak`" + ` may be passed
(` + "`--rate`, `--fail`, `--cut`, `--reload`, `--warmup`, `--doc ''`" + ` to keep this file).
The exit status is 0 only when every check passes.

## Method

* **Upstreams.** Two fake OpenAI-compatible upstreams run inside the soak
  process. *flaky* fails 5 % of its requests before sending any content,
  in one of these ways: 500, 502, 503, 503 with ` + "`Retry-After: 1`" + `, a TCP
  reset before the headers, a connection closed before the headers, a
  malformed body (truncated JSON, or an SSE event that is not JSON), a
  stall after a role-only chunk (past ` + "`first_byte_timeout`" + ` for streams, past
  ` + "`timeout`" + ` otherwise), or in one of the hostile ways of issue 12: a 500
  whose body holds a password, an address and a key (no client may see
  them), a 307 redirect (never followed), ` + "`data:`" + ` lines that never end their
  event (or an endless non-streamed body), endless role-only chunks, or
  8 MiB of CRs. It also cuts 2 % of its streams after the first
  content chunk (half by dropping the connection, half by ending the body
  without ` + "`[DONE]`" + `). *healthy* never fails. Both answer the same nine-word
  text, streamed one word per chunk 3 ms apart, prefixed with their name.
* **switchyard** runs as a separate process (` + "`switchyard serve --config …`" + `)
  with the admin endpoints on (` + "`admin.token_env`" + `), serving the alias ` + "`soak`" + `:
  flaky first, then healthy; ` + "`max_retries: 2`" + `, flaky with ` + "`timeout: 2s`" + `,
  ` + "`first_byte_timeout: 500ms`" + `, ` + "`max_failures: 3`" + ` and ` + "`recovery_interval: 2s`" + `, so
  its circuit also opens and closes during the run.
* **Load.** 200 requests per second, open loop (request *i* leaves at
  *i*/200 s whether or not earlier ones finished), half streaming. Non-
  streaming requests go through the official ` + "`openai-go`" + ` client; streaming
  ones are read as raw SSE so that ` + "`[DONE]`" + ` and error events can be checked.
* **Reloads.** Every 30 s the config file is rewritten (alternately in
  place and by rename) with a harmless change (a comment and the weight of
  a spare alias); the run checks that ` + "`GET /admin/status`" + `'s generation
  moves each time.
* **Process figures.** ` + "`GET /admin/status`" + ` reports goroutines, live heap
  (` + "`HeapInuse`" + `) and RSS. They are read after the warm-up, every 10 s, at the
  end under load, and 3 s after the load stops (idle).

Every client outcome is classified:

| outcome | meaning | must be |
|---|---|---|
| ok | the whole answer; a stream ends with ` + "`[DONE]`" + ` and no error event | |
| failed before any content | an error status, a transport error, or a stream with no content: a healthy target could have served it | 0 |
| stream cut after content | content, then an error event and no ` + "`[DONE]`" + `: unavoidable by design, since switchyard never fails over once content has gone out | by design |
| other | a wrong answer, or a stream that ended after content with neither error event nor ` + "`[DONE]`" + ` | 0 |

Leak checks: idle goroutines at the end at most the start figure + 25
(kept-alive connections), and the heap at the end at most 1.5 × the start
heap + 32 MiB (GC timing); the samples in between show any trend.
`
