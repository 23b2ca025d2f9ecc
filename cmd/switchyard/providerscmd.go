package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/switchyard-router/switchyard/gateway"
	"github.com/switchyard-router/switchyard/providers"
)

// providerTestDeadline bounds one provider's test (the server bounds its
// own at 30s).
const providerTestDeadline = 40 * time.Second

func providersCmd(e env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "providers",
		Short: "Test the providers' connectivity",
	}
	var (
		cf       configFlags
		url      string
		tokenEnv string
		direct   bool
		all      bool
	)
	test := &cobra.Command{
		Use:   "test [NAME] [--direct] [--all]",
		Short: "Test each provider (or NAME): through the running server, or directly with --direct",
		Long: "test checks that each provider answers. By default it asks the running\n" +
			"server (POST /admin/test, so the admin endpoints must be on, as for status)\n" +
			"to send a one-token request to the provider's first target (every target\n" +
			"with --all); the result counts in the target's health like any request.\n\n" +
			"--direct needs no server: it builds the providers from the config and lists\n" +
			"each one's models (GET /models, Ollama's /api/tags), which checks the URL and\n" +
			"the key without spending a token.\n\n" +
			"It exits 1 when a test fails.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			var rows [][]string
			var failed bool
			var err error
			if direct {
				rows, failed, err = testProvidersDirect(cmd, e, &cf, name)
			} else {
				rows, failed, err = testProvidersServer(cmd, e, &cf, url, tokenEnv, name, all)
			}
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "PROVIDER\tTESTED\tRESULT\tLATENCY\tDETAIL")
			for _, r := range rows {
				fmt.Fprintln(tw, strings.Join(r, "\t"))
			}
			tw.Flush()
			if failed {
				return &exitError{code: 1, err: fmt.Errorf("a provider test failed")}
			}
			return nil
		},
	}
	test.Flags().StringVar(&cf.path, "config", "", "config file (default: the file serve would read, as \"switchyard config path\" prints it)")
	test.Flags().StringVar(&url, "url", "", "the server's base URL (default http:// + the config's listen, else "+defaultStatusURL+")")
	test.Flags().StringVar(&tokenEnv, "token-env", "", "environment variable holding the admin token (default the config's admin.token_env, else "+defaultAdminTokenEnv+")")
	test.Flags().BoolVar(&direct, "direct", false, "list each provider's models from here, with no server")
	test.Flags().BoolVar(&all, "all", false, "through the server: test every target, not one per provider")
	cmd.AddCommand(test)
	return cmd
}

// testProvidersDirect lists the models of each configured provider.
func testProvidersDirect(cmd *cobra.Command, e env, cf *configFlags, name string) ([][]string, bool, error) {
	cfg, _, err := cf.load(cmd, e)
	if err != nil {
		return nil, false, err
	}
	provs, err := gateway.BuildProviders(cfg, e.gateway(), gateway.UpstreamClient())
	if err != nil {
		return nil, false, err
	}
	var rows [][]string
	failed, found := false, false
	for _, p := range cfg.Providers {
		if name != "" && p.Name != name {
			continue
		}
		found = true
		l, ok := provs[p.Name].(providers.Lister)
		if !ok {
			rows = append(rows, []string{p.Name, "-", "skipped", "-", "a " + p.Kind + " provider cannot list its models"})
			continue
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), min(p.Timeout, providerTestDeadline))
		start := time.Now()
		models, err := l.ListModels(ctx)
		took := time.Since(start)
		cancel()
		if err != nil {
			failed = true
			rows = append(rows, []string{p.Name, "list models", "FAIL", took.Round(time.Millisecond).String(), err.Error()})
			continue
		}
		detail := fmt.Sprintf("%d models", len(models))
		var missing []string
		for _, m := range p.Models {
			if !slices.Contains(models, m) {
				missing = append(missing, m)
			}
		}
		if len(missing) > 0 {
			detail += "; not among them: " + strings.Join(missing, ", ")
		}
		rows = append(rows, []string{p.Name, "list models", "ok", took.Round(time.Millisecond).String(), detail})
	}
	if !found {
		return nil, false, fmt.Errorf("no provider %q in the config", name)
	}
	return rows, failed, nil
}

// testProvidersServer asks the running server to test one target per
// provider (every target with all).
func testProvidersServer(cmd *cobra.Command, e env, cf *configFlags, url, tokenEnv, name string, all bool) ([][]string, bool, error) {
	cfg, err := statusConfig(cmd, e, cf)
	if err != nil {
		return nil, false, err
	}
	url, tokenEnv = adminEndpoint(cfg, url, tokenEnv)
	token := e.getenv(tokenEnv)
	if token == "" {
		return nil, false, fmt.Errorf("no admin token: $%s is not set (set it, name another variable with --token-env, or test with --direct)", tokenEnv)
	}
	c := &adminClient{hc: &http.Client{}, url: url, token: token, tokenEnv: tokenEnv}
	ctx, cancel := context.WithTimeout(cmd.Context(), statusRequestDeadline)
	raw, err := c.get(ctx, "/admin/providers")
	cancel()
	if err != nil {
		return nil, false, err
	}
	var pr providersReport
	if err := json.Unmarshal(raw, &pr); err != nil {
		return nil, false, fmt.Errorf("decode /admin/providers: %w", err)
	}
	var targets []string
	tested := map[string]bool{}
	for _, t := range pr.Targets {
		if (name != "" && t.Provider != name) || (!all && tested[t.Provider]) {
			continue
		}
		tested[t.Provider] = true
		targets = append(targets, t.Provider+"/"+t.Model)
	}
	var rows [][]string
	if cfg != nil {
		for _, p := range cfg.Providers {
			if !tested[p.Name] && (name == "" || name == p.Name) {
				tested[p.Name] = true
				rows = append(rows, []string{p.Name, "-", "skipped", "-", "no model of it is in a chain yet; try --direct"})
			}
		}
	}
	if len(targets) == 0 && len(rows) == 0 {
		return nil, false, fmt.Errorf("the server has no target of provider %q", name)
	}
	failed := false
	for _, target := range targets {
		ctx, cancel := context.WithTimeout(cmd.Context(), providerTestDeadline)
		res, err := c.test(ctx, target)
		cancel()
		if err != nil {
			return nil, false, err
		}
		provider, _, _ := strings.Cut(target, "/")
		lat := fmt.Sprintf("%.0fms", res.LatencyMS)
		if res.OK {
			rows = append(rows, []string{provider, target, "ok", lat, ""})
			continue
		}
		failed = true
		rows = append(rows, []string{provider, target, fmt.Sprintf("FAIL %d", res.Status), lat, res.Error})
	}
	return rows, failed, nil
}

// testResult is POST /admin/test's answer.
type testResult struct {
	OK        bool    `json:"ok"`
	Status    int     `json:"status"`
	Error     string  `json:"error"`
	LatencyMS float64 `json:"latency_ms"`
}

// test asks the server to test one target.
func (c *adminClient) test(ctx context.Context, target string) (testResult, error) {
	body, _ := json.Marshal(map[string]string{"target": target})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url+"/admin/test", bytes.NewReader(body))
	if err != nil {
		return testResult{}, fmt.Errorf("bad --url %q: %w", c.url, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return testResult{}, fmt.Errorf("cannot reach switchyard at %s (is it running? see --url, or test with --direct): %w", c.url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return testResult{}, fmt.Errorf("%s/admin/test %s: %s: %s", c.url, target, resp.Status, apiMessage(b))
	}
	var r testResult
	if err := json.Unmarshal(b, &r); err != nil {
		return testResult{}, fmt.Errorf("decode /admin/test: %w", err)
	}
	return r, nil
}
