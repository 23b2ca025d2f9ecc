package abuse

import (
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"text/tabwriter"
	"time"
)

// Bounds shared by the cases.
const (
	firstByte   = 2 * time.Second // providers' first_byte_timeout in the stream cases
	slack       = 3 * time.Second // wall-clock slack on every timing bound
	streamRise  = 64 * mb         // RSS rise allowed for one misbehaving stream
	clientLimit = 30 * time.Second
)

// TestAbuse runs every case, each against its own switchyard process,
// one after the other (so that each RSS figure is the case's own), then
// logs a summary table.
func TestAbuse(t *testing.T) {
	if os.Getenv("SWITCHYARD_ABUSE") != "1" {
		t.Skip("the abuse suite runs only with SWITCHYARD_ABUSE=1 (under a minute on 2 cores)")
	}
	if runtime.GOOS != "linux" {
		t.Skip("the abuse suite reads /proc")
	}
	su := &suite{bin: buildSwitchyard(t), tab: &table{}}
	cases := []struct {
		name string
		run  func(*testing.T, *suite)
	}{
		{"01_sse_data_lines_without_blank_line", caseDataWithoutBlankLine},
		{"02_endless_role_only_chunks", caseRoleOnlyChunks},
		{"03_endless_anthropic_pings", caseAnthropicPings},
		{"04_8MiB_of_CR_then_stall", caseCRLineThenStall},
		{"05_endless_non_stream_answer", caseEndlessAnswer},
		{"06_hanging_upstream", caseHangingUpstream},
		{"07_redirects", caseRedirects},
		{"08_upstream_error_leaks", caseErrorLeaks},
		{"09_huge_retry_after", caseHugeRetryAfter},
		{"10_two_bad_requests_keep_circuit_closed", caseTwoBadRequests},
		{"11_multiline_event_and_invalid_utf8", caseMultilineEvent},
		{"12_count_tokens_giant_word", caseCountTokensGiantWord},
		{"13_2000_idle_keepalive_conns", caseIdleConns},
		{"14_slowloris", caseSlowloris},
		{"15_clients_that_never_read", caseNonReadingClients},
		{"16_huge_model_name_and_uri", caseHugeNames},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.run(t, su) })
	}
	t.Logf("summary (rise = server RSS peak minus its baseline at the case's start):\n%s", su.tab)
}

// suite is what every case gets: the binary, and the summary to add to.
type suite struct {
	bin string
	tab *table
}

func (su *suite) row(t *testing.T, name string) *row { return su.tab.row(t, name) }

func (su *suite) start(t *testing.T, s setup) *server {
	t.Helper()
	return startServer(t, su.bin, s)
}

// table is the summary: one row per client action measured.
type table struct {
	mu   sync.Mutex
	rows []*row
}

type row struct {
	name    string
	outcome string
	took    time.Duration
	rise    int64 // bytes; -1 when not measured
	cpu     time.Duration
	note    string
	failed  bool
}

// row adds a row that is marked failed if t fails.
func (tb *table) row(t *testing.T, name string) *row {
	r := &row{name: name, rise: -1}
	tb.mu.Lock()
	tb.rows = append(tb.rows, r)
	tb.mu.Unlock()
	t.Cleanup(func() { r.failed = t.Failed() })
	return r
}

// set records a client's answer and the meter's figures (m is stopped).
func (r *row) set(a answer, m *meter) {
	r.outcome, r.took = a.describe(), a.took
	r.measured(m)
}

// measured records the meter's figures, stopping it.
func (r *row) measured(m *meter) {
	r.rise = m.stop()
	r.cpu = m.cpu
}

func (tb *table) String() string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "CASE\tRESULT\tCLIENT OUTCOME\tTIME\tRSS RISE\tSERVER CPU\tNOTE")
	for _, r := range tb.rows {
		res := "ok"
		if r.failed {
			res = "FAIL"
		}
		rise, cpu := "-", "-"
		if r.rise >= 0 {
			rise, cpu = mib(r.rise), r.cpu.String()
		}
		out := r.outcome
		if len(out) > 110 {
			out = out[:110] + "…"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.name, res, out, r.took.Round(time.Millisecond), rise, cpu, r.note)
	}
	w.Flush()
	return b.String()
}

// openAIProvider is one providers: item of kind openai.
func openAIProvider(name, baseURL, extra string, models ...string) string {
	return fmt.Sprintf("  - {name: %s, kind: openai, base_url: %q, models: [%s]%s}\n", name, baseURL, strings.Join(models, ", "), extra)
}

// anthropicProvider is one providers: item of kind anthropic.
func anthropicProvider(name, baseURL, extra string, models ...string) string {
	return fmt.Sprintf("  - {name: %s, kind: anthropic, base_url: %q, models: [%s]%s}\n", name, baseURL, strings.Join(models, ", "), extra)
}

// streamBounds are the provider keys of the stream cases.
const streamBounds = ", timeout: 20s, first_byte_timeout: 2s, stream_idle_timeout: 2s"

// misbehavingStream sends one streamed request to a server in front of a
// misbehaving upstream and checks that the client is told of an error
// within firstByte+slack, with the server's RSS rising less than
// streamRise.
func misbehavingStream(t *testing.T, r *row, srv *server, path, model string) answer {
	t.Helper()
	m := srv.measure()
	a := send(srv.hc, srv.base, path, chatBody(model, true), clientLimit)
	r.set(a, m)
	rise := r.rise
	checkStreamFailure(t, a)
	if bound := firstByte + slack; a.took > bound {
		t.Errorf("time: want the answer within first_byte_timeout %v + %v slack = %v; took %v", firstByte, slack, bound, a.took)
	}
	if rise > streamRise {
		t.Errorf("RSS: want a peak rise under %s; rose %s", mib(streamRise), mib(rise))
	}
	srv.alive(t)
	return a
}

// checkStreamFailure wants a 502/504 JSON error, or a 200 stream that
// carries an error event and no completion.
func checkStreamFailure(t *testing.T, a answer) {
	t.Helper()
	switch {
	case a.err != nil:
		t.Errorf("client: want a 502/504 JSON error or an in-band error; got %s", a.describe())
	case a.stream != nil:
		if a.stream.errMsg == "" || a.stream.done {
			t.Errorf("client: want the stream to end with an error event and no [DONE]/message_stop; got %s", a.describe())
		}
	case a.status != http.StatusBadGateway && a.status != http.StatusGatewayTimeout:
		t.Errorf("client: want 502 or 504 with a JSON error; got %s", a.describe())
	case a.errorMessage() == "":
		t.Errorf("client: want a JSON error body with error.message; got %d %q", a.status, a.body)
	}
}
