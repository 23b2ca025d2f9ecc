package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/switchyard-router/switchyard/config"
	"github.com/switchyard-router/switchyard/daemon"
	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/proxy"
)

// Status defaults, when neither a flag nor the config says otherwise.
const (
	defaultStatusURL      = "http://127.0.0.1:8080"
	defaultAdminTokenEnv  = "SWITCHYARD_ADMIN_TOKEN"
	statusRequestDeadline = 10 * time.Second
)

func statusCmd(e env) *cobra.Command {
	var (
		cf       configFlags
		url      string
		tokenEnv string
		asJSON   bool
	)
	cmd := &cobra.Command{
		Use:   "status [--url U] [--token-env VAR] [--json]",
		Short: "Show the background server and a running server's configuration and every target's health",
		Long: "status first says whether a switchyard started by `switchyard start` is\n" +
			"running: its pid, URL, log file, uptime and whether it answers GET /healthz.\n" +
			"Without an admin token, that is all: status exits 0 when it runs, 3 when\n" +
			"it does not.\n\n" +
			"With a token, status then asks the running switchyard (GET /admin/status and GET /admin/providers)\n" +
			"for the configuration in force and, per target (provider and model), its\n" +
			"circuit state, recent error rate, median latency, request count and last\n" +
			"error. The server's admin endpoints must be on (admin.token_env).\n\n" +
			"--url defaults to http:// + the config's listen address (" + defaultStatusURL + "\n" +
			"without a config); the token is read from the variable --token-env names,\n" +
			"by default the config's admin.token_env, else " + defaultAdminTokenEnv + ".",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			bg := background(cmd.Context(), e)
			urlSet := url != ""
			if !asJSON {
				bg.print(e.stdout)
			}
			if url == "" && bg.Running {
				url = bg.URL
			}
			var cfg *config.Config
			if url == "" || tokenEnv == "" {
				var err error
				if cfg, err = statusConfig(cmd, e, &cf); err != nil {
					return err
				}
			}
			url, tokenEnv = adminEndpoint(cfg, url, tokenEnv)
			token := e.getenv(tokenEnv)
			if token == "" && bg.Running {
				// The process is up and answering: that is the status
				// the token-less can have.
				if asJSON {
					return json.NewEncoder(e.stdout).Encode(struct {
						Background backgroundStatus `json:"background"`
					}{bg})
				}
				fmt.Fprintf(e.stdout, "\n(for the configuration and every target's health, set $%s to the server's admin token)\n", tokenEnv)
				return nil
			}
			if token == "" && bg.PIDFile != "" && !urlSet {
				return &exitError{code: 3, err: fmt.Errorf("switchyard is not running in the background (see switchyard start); for a server started another way, set $%s to its admin token", tokenEnv)}
			}
			if token == "" {
				return fmt.Errorf("no admin token: $%s is not set (set it, or name another variable with --token-env)", tokenEnv)
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), statusRequestDeadline)
			defer cancel()
			c := &adminClient{hc: &http.Client{}, url: url, token: token, tokenEnv: tokenEnv}
			st, err := c.get(ctx, "/admin/status")
			if err != nil {
				return err
			}
			pr, err := c.get(ctx, "/admin/providers")
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(e.stdout).Encode(struct {
					URL        string           `json:"url"`
					Background backgroundStatus `json:"background"`
					Status     json.RawMessage  `json:"status"`
					Providers  json.RawMessage  `json:"providers"`
				}{url, bg, st, pr})
			}
			if bg.Running {
				fmt.Fprintln(e.stdout)
			}
			return printStatus(e.stdout, url, st, pr)
		},
	}
	cmd.Flags().StringVar(&cf.path, "config", "", "config file to take the listen address and admin.token_env from (default: the file serve would read, as \"switchyard config path\" prints it)")
	cmd.Flags().StringVar(&url, "url", "", "the server's base URL (default http:// + the config's listen, else "+defaultStatusURL+")")
	cmd.Flags().StringVar(&tokenEnv, "token-env", "", "environment variable holding the admin token (default the config's admin.token_env, else "+defaultAdminTokenEnv+")")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the server's answers as one JSON object")
	return cmd
}

// adminEndpoint completes the server URL and the admin token's variable
// that the flags left empty: from cfg's listen address and
// admin.token_env, else (cfg nil) defaultStatusURL and
// defaultAdminTokenEnv.
func adminEndpoint(cfg *config.Config, url, tokenEnv string) (string, string) {
	if url == "" {
		url = defaultStatusURL
		if cfg != nil {
			url = "http://" + dialable(cfg.Listen)
		}
	}
	if tokenEnv == "" {
		tokenEnv = defaultAdminTokenEnv
		if cfg != nil && cfg.Admin.TokenEnv != "" {
			tokenEnv = cfg.Admin.TokenEnv
		}
	}
	return strings.TrimRight(url, "/"), tokenEnv
}

// statusConfig loads the config the defaults come from: the one --config
// names (an error if it cannot be loaded), else the default path's if
// there is one and it exists (nil if not).
func statusConfig(cmd *cobra.Command, e env, cf *configFlags) (*config.Config, error) {
	if cf.path == "" {
		if _, err := cf.resolve(e); err != nil {
			return nil, nil // no default path: no config to take defaults from
		}
	}
	cfg, _, err := cf.load(cmd, e)
	switch {
	case err == nil:
		return cfg, nil
	case cf.path == "" && errors.Is(err, fs.ErrNotExist):
		return nil, nil
	}
	return nil, err
}

// backgroundStatus is what status says about a server started by start.
type backgroundStatus struct {
	Running bool      `json:"running"`
	PID     int       `json:"pid,omitempty"`
	URL     string    `json:"url,omitempty"`
	Log     string    `json:"log,omitempty"`
	Config  string    `json:"config,omitempty"`
	Started time.Time `json:"started,omitzero"`
	Healthz string    `json:"healthz,omitempty"` // "ok", or why not
	PIDFile string    `json:"pid_file,omitempty"`
	Stale   bool      `json:"stale_pid_file,omitempty"`
}

// background finds the server start runs; with no place for a pid file
// (no HOME), none runs.
func background(ctx context.Context, e env) backgroundStatus {
	f, err := daemonFiles(e)
	if err != nil {
		return backgroundStatus{}
	}
	rec, stale, err := daemon.Find(f, isSwitchyard)
	if err != nil {
		return backgroundStatus{PIDFile: f.PID, Stale: stale}
	}
	b := backgroundStatus{Running: true, PID: rec.PID, URL: rec.URL, Log: rec.Log, Config: rec.Config, Started: rec.Started, PIDFile: f.PID}
	if b.URL != "" {
		hctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		b.Healthz = "ok"
		if err := healthz(hctx, b.URL); err != nil {
			b.Healthz = err.Error()
		}
	}
	return b
}

// print writes b's lines; nothing when there is no place for a pid file.
func (b backgroundStatus) print(w io.Writer) {
	switch {
	case b.PIDFile == "":
		return
	case !b.Running && b.Stale:
		fmt.Fprintf(w, "background:  not running (stale pid file %s: its process is gone)\n", b.PIDFile)
		return
	case !b.Running:
		fmt.Fprintf(w, "background:  not running (no pid file at %s)\n", b.PIDFile)
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	up := ""
	if !b.Started.IsZero() {
		up = ", up " + time.Since(b.Started).Round(time.Second).String()
	}
	fmt.Fprintf(tw, "background:\trunning, pid %d%s\n", b.PID, up)
	if b.URL != "" {
		fmt.Fprintf(tw, "url:\t%s (healthz: %s)\n", b.URL, b.Healthz)
	}
	if b.Log != "" {
		fmt.Fprintf(tw, "log:\t%s\n", b.Log)
	}
	if b.Config != "" {
		fmt.Fprintf(tw, "config file:\t%s\n", b.Config)
	}
	tw.Flush()
}

// dialable turns a listen address into one to connect to: an unspecified
// host (":8080", "0.0.0.0:8080", "[::]:8080") becomes the loopback.
func dialable(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// adminClient calls a server's admin endpoints.
type adminClient struct {
	hc       *http.Client
	url      string
	token    string
	tokenEnv string // for messages
}

// get returns the JSON body of a GET on path, or an error that says what
// to do about it.
func (c *adminClient) get(ctx context.Context, path string) (json.RawMessage, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url+path, nil)
	if err != nil {
		return nil, fmt.Errorf("bad --url %q: %w", c.url, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach switchyard at %s (is it running? see --url): %w", c.url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("read %s%s: %w", c.url, path, err)
	}
	switch resp.StatusCode {
	case http.StatusOK:
		if !json.Valid(body) {
			return nil, fmt.Errorf("%s%s answered something other than JSON; is --url a switchyard server?", c.url, path)
		}
		return body, nil
	case http.StatusUnauthorized:
		return nil, fmt.Errorf("%s refused the admin token in $%s (401): it must match the token in the variable the server's admin.token_env names", c.url, c.tokenEnv)
	case http.StatusNotFound:
		return nil, fmt.Errorf("%s%s: 404: the server's admin endpoints are off (set admin.token_env in its config and that variable in its environment), or it is an older switchyard", c.url, path)
	}
	return nil, fmt.Errorf("%s%s: %s: %s", c.url, path, resp.Status, apiMessage(body))
}

// apiMessage is the message of an OpenAI-format error body, else the body.
func apiMessage(body []byte) string {
	var e struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error.Message != "" {
		return e.Error.Message
	}
	return strings.TrimSpace(string(body))
}

// providersReport is GET /admin/providers' answer.
type providersReport struct {
	Targets   []providers.TargetStatus `json:"targets"`
	Discovery []providers.SourceStatus `json:"discovery"`
}

// printStatus prints a summary of the configuration and a table of
// targets.
func printStatus(w io.Writer, url string, stRaw, prRaw json.RawMessage) error {
	var st proxy.Status
	if err := json.Unmarshal(stRaw, &st); err != nil {
		return fmt.Errorf("decode /admin/status: %w", err)
	}
	var pr providersReport
	if err := json.Unmarshal(prRaw, &pr); err != nil {
		return fmt.Errorf("decode /admin/providers: %w", err)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "server:\t%s\n", url)
	fmt.Fprintf(tw, "config:\t%s (generation %d, loaded %s)\n", st.ConfigPath, st.Generation, st.LoadedAt.Local().Format(time.DateTime))
	if r := st.LastReload; r != nil {
		outcome := "ok"
		if !r.OK {
			outcome = "FAILED, previous config serving: " + strings.Join(r.Errors, "; ")
		}
		fmt.Fprintf(tw, "last reload:\t%s (%s, %s)\n", outcome, r.Trigger, r.Time.Local().Format(time.DateTime))
	}
	fmt.Fprintf(tw, "routes:\t%s\n", orNone(strings.Join(st.Routes, ", ")))
	fmt.Fprintf(tw, "embedder:\t%s\n", st.Embedder)
	if c := st.Cache; c != nil {
		fmt.Fprintf(tw, "embed cache:\t%d hits, %d misses\n", c.Hits, c.Misses)
	}
	if p := st.Process; p != nil {
		fmt.Fprintf(tw, "process:\t%d goroutines, heap %.1f MiB, rss %.1f MiB\n", p.Goroutines, mib(p.HeapBytes), mib(p.RSSBytes))
	}
	tw.Flush()

	fmt.Fprintln(w)
	if len(pr.Targets) == 0 {
		fmt.Fprintln(w, "no targets yet")
	} else {
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "PROVIDER\tMODEL\tCIRCUIT\tERROR RATE\tP50 MS\tREQUESTS\tLAST ERROR")
		for _, t := range pr.Targets {
			circuit := t.State
			if !t.Until.IsZero() {
				circuit += " until " + t.Until.Local().Format(time.TimeOnly)
			}
			rate, p50 := "-", "-"
			if t.Recent > 0 {
				rate = fmt.Sprintf("%.1f%% of %d", 100*t.ErrorRate, t.Recent)
				p50 = fmt.Sprintf("%.1f", t.LatencyP50)
			}
			lastErr := "-"
			if t.LastError != "" {
				lastErr = clip(t.LastError, 80) + " (" + t.LastErrorAt.Local().Format(time.TimeOnly) + ")"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", t.Provider, t.Model, circuit, rate, p50, t.Requests, lastErr)
		}
		tw.Flush()
	}
	if len(pr.Discovery) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "DISCOVERING\tMODELS\tREFRESHED\tLAST ERROR")
		for _, d := range pr.Discovery {
			refreshed := "never"
			if !d.RefreshedAt.IsZero() {
				refreshed = d.RefreshedAt.Local().Format(time.DateTime)
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", d.Provider, d.Models, refreshed, orDash(clip(d.Error, 80)))
		}
		tw.Flush()
	}
	return nil
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// clip shortens s to n runes, on one line.
func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
