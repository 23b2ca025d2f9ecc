package main

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/switchyard-router/switchyard/config"
	"github.com/switchyard-router/switchyard/expand"
	"github.com/switchyard-router/switchyard/gateway"
	"github.com/switchyard-router/switchyard/providers"
)

// expandFlags are the flags of routes expand.
type expandFlags struct {
	cf         configFlags
	provider   string
	model      string
	n          int
	nearMisses int
	routes     []string
	write      bool
	seed       uint64
	maxTokens  int
	timeout    time.Duration
}

func routesExpandCmd(e env) *cobra.Command { return newRoutesExpandCmd(e, time.Now) }

// newRoutesExpandCmd is routes expand with its clock, which dates the
// comment written above the new items, injected for tests.
func newRoutesExpandCmd(e env, now func() time.Time) *cobra.Command {
	var f expandFlags
	cmd := &cobra.Command{
		Use:   "expand --provider P --model M [--n 30] [--near-misses K] [--route NAME ...] [--write]",
		Short: "Write examples for routes with one of your LLMs",
		Long: "expand asks a model at one of the config's providers (of any kind) to write,\n" +
			"for each route with a condition, varied requests that users would send and\n" +
			"that the route should get, and near misses: requests that look alike but\n" +
			"that it must not get. It reads the answer defensively, drops what is not a\n" +
			"usable request (answers, preambles, fragments, items over 300 characters,\n" +
			"the condition itself, repeats, near duplicates and what the route has\n" +
			"already; near misses nearer to the condition than the median request), and\n" +
			"keeps the --n most representative requests (k-medoids over the config's\n" +
			"embedder, seeded by --seed) and --near-misses near misses. It asks again,\n" +
			"up to 3 calls a route, while too few survive.\n\n" +
			"The result is printed as a patch for review. --write appends it to each\n" +
			"route's examples and negatives in the config file, keeping its comments\n" +
			"and layout, under a comment naming the model and the date. JSON configs\n" +
			"(MAS router files included) keep no comments and cannot be patched:\n" +
			"convert them to YAML first (switchyard config check prints the effective\n" +
			"config as YAML).",
		Example: "  switchyard routes expand --provider home --model qwen2.5-coder:0.5b\n" +
			"  switchyard routes expand --provider openai --model gpt-4o-mini --route code --n 40 --write",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runExpand(cmd, e, &f, now)
		},
	}
	f.cf.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.provider, "provider", "", "name of the config's provider to ask (required)")
	fl.StringVar(&f.model, "model", "", "model to ask at that provider (required)")
	fl.IntVar(&f.n, "n", 30, "requests to keep per route")
	fl.IntVar(&f.nearMisses, "near-misses", 0, "near misses to keep per route (default n/3; 0 for none)")
	fl.StringArrayVar(&f.routes, "route", nil, "route to expand; repeat for several (default every route with a condition)")
	fl.BoolVar(&f.write, "write", false, "append the result to the config file (comments kept)")
	fl.Uint64Var(&f.seed, "seed", 1, "seed for choosing the requests kept")
	fl.IntVar(&f.maxTokens, "max-tokens", 0, "answer budget of one call (default 40 tokens per item asked for plus 256, at most 4096)")
	fl.DurationVar(&f.timeout, "timeout", 10*time.Minute, "bound on one call to the model")
	cmd.MarkFlagRequired("provider")
	cmd.MarkFlagRequired("model")
	return cmd
}

func runExpand(cmd *cobra.Command, e env, f *expandFlags, now func() time.Time) error {
	ctx := cmd.Context()
	if f.n <= 0 {
		return fmt.Errorf("--n %d: want at least 1", f.n)
	}
	if f.nearMisses < 0 {
		return fmt.Errorf("--near-misses %d: want 0 or more", f.nearMisses)
	}
	if f.timeout <= 0 {
		return fmt.Errorf("--timeout %s: want a positive duration", f.timeout)
	}
	path, err := f.cf.resolve(e)
	if err != nil {
		return err
	}
	// Refused before any model is asked, rather than after.
	if f.write && strings.EqualFold(filepath.Ext(path), ".json") {
		return fmt.Errorf("--write: %s is JSON (a MAS router file or a JSON config), which keeps no comments and cannot be patched; "+
			"convert it to YAML first (switchyard config check prints it as YAML), or run without --write and copy the lists", path)
	}
	cfg, _, err := f.cf.load(cmd, e)
	if err != nil {
		return err
	}
	routes, err := expandRoutes(cfg, f.routes)
	if err != nil {
		return err
	}
	provs, err := gateway.BuildProviders(cfg, e.gateway(), gateway.UpstreamClient())
	if err != nil {
		return err
	}
	prov, ok := provs[f.provider]
	if !ok {
		return fmt.Errorf("--provider %q: the config has no such provider (it has: %s)", f.provider, strings.Join(slices.Sorted(maps.Keys(provs)), ", "))
	}
	// One target, retried as routing.max_retries says: an upstream that
	// is briefly overloaded should not cost the routes done so far.
	chain := &providers.Chain{
		Name:    "routes expand",
		Targets: []providers.Target{{Name: f.provider + "/" + f.model, Provider: prov, Model: f.model}},
		Retries: cfg.Routing.MaxRetries,
	}
	emb, closeEmb, err := gateway.BuildEmbedder(ctx, cfg, e.gateway(), gateway.UpstreamClient(), f.cf.models)
	if err != nil {
		return err
	}
	defer closeEmb()

	opts := expand.Options{N: f.n, NearMisses: f.nearMisses, Seed: f.seed, MaxTokens: f.maxTokens, Timeout: f.timeout}
	if f.nearMisses == 0 && cmd.Flags().Changed("near-misses") {
		opts.NearMisses = -1 // none
	}
	p := config.Patch{
		RouteExamples:  map[string][]string{},
		RouteNegatives: map[string][]string{},
		Comment:        fmt.Sprintf("written by %s via routes expand, %s", f.model, now().Format(time.DateOnly)),
	}
	var order []string
	added := 0
	for i, r := range routes {
		fmt.Fprintf(e.stderr, "routes expand: [%d/%d] %s: asking %s at %s\n", i+1, len(routes), r.Name, f.model, f.provider)
		res, err := expand.Expand(ctx, chain, f.model, r, emb.Embed, opts)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "routes expand: %s: kept %d requests and %d near misses from %d calls%s\n",
			r.Name, len(res.Requests), len(res.NearMisses), res.Calls, droppedSummary(res.Dropped))
		if len(res.Requests)+len(res.NearMisses) == 0 {
			continue
		}
		order = append(order, r.Name)
		p.RouteExamples[r.Name] = res.Requests
		p.RouteNegatives[r.Name] = res.NearMisses
		added += len(res.Requests) + len(res.NearMisses)
	}
	if added == 0 {
		return errors.New("the model wrote nothing usable for any route; try a larger model, or look at what it answers")
	}
	out, err := expandPatchYAML(p, order)
	if err != nil {
		return err
	}
	if _, err := e.stdout.Write(out); err != nil {
		return err
	}
	if !f.write {
		fmt.Fprintf(e.stderr, "routes expand: review the lists above; to append them to %s, copy them in, or run again with --write "+
			"(the model writes new ones on every run)\n", path)
		return nil
	}
	if err := config.PatchFile(path, p); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "routes expand: appended %d items to %d routes in %s\n", added, len(order), path)
	return nil
}

// expandRoutes returns the routes to expand: those named, else every
// route with a condition, each with the other routes' conditions.
func expandRoutes(cfg *config.Config, names []string) ([]expand.Route, error) {
	byName := map[string]config.Route{}
	for _, r := range cfg.Routes {
		byName[r.Name] = r
	}
	if len(names) == 0 {
		for _, r := range cfg.Routes {
			if strings.TrimSpace(r.Condition) != "" {
				names = append(names, r.Name)
			}
		}
		if len(names) == 0 {
			return nil, errors.New("no route has a condition to write requests for")
		}
	}
	var out []expand.Route
	seen := map[string]bool{}
	for _, name := range names {
		r, ok := byName[name]
		switch {
		case !ok:
			return nil, fmt.Errorf("--route %q: the config has no such route", name)
		case strings.TrimSpace(r.Condition) == "":
			return nil, fmt.Errorf("--route %q: the route has no condition to write requests for", name)
		case seen[name]:
			continue
		}
		seen[name] = true
		er := expand.Route{Name: r.Name, Condition: r.Condition, Examples: r.Examples, Negatives: r.Negatives}
		for _, o := range cfg.Routes {
			if o.Name != r.Name && strings.TrimSpace(o.Condition) != "" {
				er.Others = append(er.Others, o.Condition)
			}
		}
		out = append(out, er)
	}
	return out, nil
}

// droppedSummary renders drop counts as "; dropped 3 too short, 2
// thinned", largest first, or "".
func droppedSummary(d map[string]int) string {
	if len(d) == 0 {
		return ""
	}
	reasons := slices.Sorted(maps.Keys(d))
	slices.SortStableFunc(reasons, func(a, b string) int { return d[b] - d[a] })
	parts := make([]string, len(reasons))
	for i, r := range reasons {
		parts[i] = fmt.Sprintf("%d %s", d[r], r)
	}
	return "; dropped " + strings.Join(parts, ", ")
}

// expandPatchYAML prints p's lists as the routes part of a config, in
// route order, under the comment that --write puts above them.
func expandPatchYAML(p config.Patch, order []string) ([]byte, error) {
	type route struct {
		Name      string   `yaml:"name"`
		Examples  []string `yaml:"examples,omitempty"`
		Negatives []string `yaml:"negatives,omitempty"`
	}
	doc := struct {
		Routes []route `yaml:"routes"`
	}{}
	for _, name := range order {
		doc.Routes = append(doc.Routes, route{Name: name, Examples: p.RouteExamples[name], Negatives: p.RouteNegatives[name]})
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "# %s; to append to each route's examples and negatives\n", p.Comment)
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("print the patch: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("print the patch: %w", err)
	}
	return b.Bytes(), nil
}
