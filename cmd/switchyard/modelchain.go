package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/switchyard-router/switchyard/config"
)

// discoverDeadline bounds asking a running server for its model list: the
// listing is a nicety, and a server that does not answer is reported and
// skipped.
const discoverDeadline = 3 * time.Second

// llmModel is one line of `model list`.
type llmModel struct {
	name, kind string
	targets    []string
}

// configModels lists what cfg serves: auto, routes, aliases, and every
// configured model as provider/model (with its bare name when that is
// not a route or alias).
func configModels(cfg *config.Config) []llmModel {
	names := func(ts []config.Target) []string {
		var out []string
		for _, t := range ts {
			out = append(out, t.Provider+"/"+t.Model)
		}
		return out
	}
	var out []llmModel
	var routes []string
	for _, r := range cfg.Routes {
		routes = append(routes, r.Name)
	}
	if len(routes) > 0 {
		out = append(out, llmModel{"auto", "routing", []string{"routes: " + strings.Join(routes, ", ")}})
	}
	for _, r := range cfg.Routes {
		kind := "route"
		if r.Name == cfg.DefaultRoute {
			kind = "route (default)"
		}
		out = append(out, llmModel{r.Name, kind, names(r.Targets)})
	}
	for _, a := range slices.Sorted(maps.Keys(cfg.Aliases)) {
		out = append(out, llmModel{a, "alias", names(cfg.Aliases[a])})
	}
	// Served models: providers' models lists and every target.
	served := map[string][]string{} // bare model → provider/model
	var order []string
	add := func(p, m string) {
		id := p + "/" + m
		if slices.Contains(served[m], id) {
			return
		}
		if _, ok := served[m]; !ok {
			order = append(order, m)
		}
		served[m] = append(served[m], id)
	}
	for _, p := range cfg.Providers {
		for _, m := range p.Models {
			add(p.Name, m)
		}
	}
	for _, r := range cfg.Routes {
		for _, t := range r.Targets {
			add(t.Provider, t.Model)
		}
	}
	for _, a := range slices.Sorted(maps.Keys(cfg.Aliases)) {
		for _, t := range cfg.Aliases[a] {
			add(t.Provider, t.Model)
		}
	}
	for _, m := range order {
		for _, id := range served[m] {
			out = append(out, llmModel{id, "model", []string{id}})
		}
	}
	return out
}

// listLLMModels prints the models the config serves and, when a server
// answers, those its providers discovered.
func listLLMModels(cmd *cobra.Command, e env, cf *configFlags, url, keyEnv string) error {
	cfg, err := statusConfig(cmd, e, cf)
	if err != nil {
		return err
	}
	var list []llmModel
	if cfg != nil {
		list = configModels(cfg)
		path, _ := cf.resolve(e)
		fmt.Fprintf(e.stdout, "LLM models served by %s:\n", path)
	} else {
		fmt.Fprintln(e.stdout, "no config file (see --config); LLM models from the server only:")
	}
	if url == "" {
		url = defaultStatusURL
		if cfg != nil {
			url = "http://" + dialable(cfg.Listen)
		}
	}
	url = strings.TrimRight(url, "/")
	ctx, cancel := context.WithTimeout(cmd.Context(), discoverDeadline)
	defer cancel()
	c := &adminClient{hc: &http.Client{}, url: url, token: e.getenv(keyEnv), tokenEnv: keyEnv}
	note := ""
	if raw, err := c.get(ctx, "/v1/models"); err != nil {
		note = fmt.Sprintf("(no discovered models: %v)", err)
	} else {
		var page struct {
			Data []struct {
				ID      string `json:"id"`
				OwnedBy string `json:"owned_by"`
			} `json:"data"`
		}
		if err := json.Unmarshal(raw, &page); err != nil {
			return fmt.Errorf("decode %s/v1/models: %w", url, err)
		}
		known := map[string]bool{}
		for _, m := range list {
			known[m.name] = true
		}
		for _, m := range page.Data {
			// The server lists bare names too; discovered models are shown
			// by their provider/model names only.
			if _, _, split := strings.Cut(m.ID, "/"); split && !known[m.ID] {
				known[m.ID] = true
				list = append(list, llmModel{m.ID, "discovered", []string{m.OwnedBy}})
			}
		}
		note = "(and the models the server at " + url + " discovered)"
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MODEL\tKIND\tTARGETS")
	for _, m := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", m.name, m.kind, strings.Join(m.targets, ", "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, note)
	return nil
}

func modelPriorityCmd(e env) *cobra.Command {
	var (
		cf       configFlags
		ref      config.ChainRef
		position int
	)
	cmd := &cobra.Command{
		Use:   "priority NAME --position N [--route R | --alias A]",
		Short: "Move a target (provider/model) of a chain to position N; list and remove targets",
		Long: "priority edits the order of a chain's targets in the config file: the default\n" +
			"route's, or the route or alias named by --route or --alias. NAME is a target\n" +
			"as provider/model. The file keeps its comments and layout, is checked to load\n" +
			"before it is written, and a running server reloads it.\n\n" +
			"  switchyard model priority list\n" +
			"  switchyard model priority openai/gpt-4o --position 1\n" +
			"  switchyard model priority remove home/llama3.1 --alias fast\n\n" +
			"Targets are tried by priority first: with priority or weight set on targets\n" +
			"or providers, the list order decides only among equals.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("position") || position < 1 {
				return fmt.Errorf("--position N (1 = first) is required")
			}
			return editChain(cmd, e, &cf, ref, args[0], position)
		},
	}
	flags := func(c *cobra.Command) {
		c.Flags().StringVar(&cf.path, "config", "", "config file (default: the file serve would read, as \"switchyard config path\" prints it)")
		c.Flags().StringVar(&ref.Route, "route", "", "the route whose targets to edit (default: default_route)")
		c.Flags().StringVar(&ref.Alias, "alias", "", "the alias whose targets to edit")
		c.MarkFlagsMutuallyExclusive("route", "alias")
	}
	flags(cmd)
	cmd.Flags().IntVar(&position, "position", 0, "the target's new place, 1 = first")
	list := &cobra.Command{
		Use:   "list [--route R | --alias A]",
		Short: "List a chain's targets in order",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, _, err := loadPlain(e, &cf)
			if err != nil {
				return err
			}
			ts, name, err := cfg.ChainTargets(ref)
			if err != nil {
				return err
			}
			fallback := cfg.Routing.Fallback
			if ref.Alias != "" && cfg.AliasFallback[name] != "" {
				fallback = cfg.AliasFallback[name]
			}
			for _, r := range cfg.Routes {
				if ref.Alias == "" && r.Name == name && r.Fallback != "" {
					fallback = r.Fallback
				}
			}
			kind := "route"
			if ref.Alias != "" {
				kind = "alias"
			}
			fmt.Fprintf(e.stdout, "%s %s (fallback %s):\n", kind, strconv.Quote(name), fallback)
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "#\tTARGET\tPRIORITY\tWEIGHT")
			prov := map[string]config.Provider{}
			for _, p := range cfg.Providers {
				prov[p.Name] = p
			}
			for i, t := range ts {
				pr, w := prov[t.Provider].Priority, prov[t.Provider].Weight
				if t.Priority != nil {
					pr = *t.Priority
				}
				if t.Weight != nil {
					w = *t.Weight
				}
				fmt.Fprintf(tw, "%d\t%s/%s\t%d\t%g\n", i+1, t.Provider, t.Model, pr, w)
			}
			return tw.Flush()
		},
	}
	flags(list)
	remove := &cobra.Command{
		Use:   "remove NAME [--route R | --alias A]",
		Short: "Remove a target (provider/model) from a chain",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return editChain(cmd, e, &cf, ref, args[0], 0)
		},
	}
	flags(remove)
	cmd.AddCommand(list, remove)
	return cmd
}

// loadPlain loads the config file as it is: no environment overrides and
// no flags, since edits are to the file.
func loadPlain(e env, cf *configFlags) (*config.Config, string, error) {
	path, err := cf.resolve(e)
	if err != nil {
		return nil, "", err
	}
	cfg, err := config.Load(path, nil, nil)
	return cfg, path, err
}

// editChain moves name to position (0 removes it) and prints the chain.
func editChain(cmd *cobra.Command, e env, cf *configFlags, ref config.ChainRef, name string, position int) error {
	path, err := cf.resolve(e)
	if err != nil {
		return err
	}
	if err := config.MoveTarget(path, ref, name, position); err != nil {
		return err
	}
	cfg, err := config.Load(path, nil, nil)
	if err != nil {
		return err
	}
	ts, _, err := cfg.ChainTargets(ref)
	if err != nil {
		return err
	}
	var names []string
	for _, t := range ts {
		names = append(names, t.Provider+"/"+t.Model)
	}
	verb := fmt.Sprintf("moved %s to position %d", name, position)
	if position == 0 {
		verb = "removed " + name
	}
	fmt.Fprintf(e.stdout, "%s: %s of %s; now %s\n", path, verb, ref, strings.Join(names, ", "))
	return nil
}
