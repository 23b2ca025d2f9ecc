package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/switchyard-router/switchyard/classifier"
	"github.com/switchyard-router/switchyard/config"
	"github.com/switchyard-router/switchyard/embed"
	"github.com/switchyard-router/switchyard/gateway"
	"github.com/switchyard-router/switchyard/ground"
	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/providers/openai"
	"github.com/switchyard-router/switchyard/router"
	"github.com/switchyard-router/switchyard/router/eval"
)

// evalFlags are shared by eval and fit.
type evalFlags struct {
	cf    configFlags
	data  string
	cache string
}

func (f *evalFlags) register(cmd *cobra.Command) {
	f.cf.register(cmd)
	cmd.Flags().StringVar(&f.data, "data", "", "labelled corpus, JSON Lines: {\"text\"|\"messages\": ..., \"label\": ROUTE|oos} (required)")
	cmd.Flags().StringVar(&f.cache, "cache", "", "corpus embedding cache directory (default $XDG_CACHE_HOME/switchyard/eval, else ~/.cache/switchyard/eval; \"off\" for none)")
	cmd.MarkFlagRequired("data")
}

// cacheDir resolves --cache: the flag, "off" for none, else the XDG cache.
func (f *evalFlags) cacheDir(e env) string {
	switch {
	case f.cache == "off":
		return ""
	case f.cache != "":
		return f.cache
	}
	if c := e.getenv("XDG_CACHE_HOME"); c != "" && filepath.IsAbs(c) {
		return filepath.Join(c, "switchyard", "eval")
	}
	if h := e.getenv("HOME"); h != "" {
		return filepath.Join(h, ".cache", "switchyard", "eval")
	}
	return ""
}

// evalSetup is a config made ready for offline routing: its corpus, the
// embedder, the route index definition and a router builder whose chains
// never run.
type evalSetup struct {
	cfg     *config.Config
	corpus  []eval.Example
	emb     embed.Embedder
	close   func() error
	routes  []string           // every route, config order
	conds   map[string]string  // route → condition, for the judge
	indexed []classifier.Route // routes with utterances, thresholds resolved
	store   *eval.Store
	// judge, when set (eval --judge), is asked by the routers build
	// makes, as in serving.
	judge router.Judge
	// grounded is the last index built (classifier), with what grounding
	// did; tasksCache is where library vectors are cached.
	grounded   *ground.Result
	tasksCache string
}

func loadEval(cmd *cobra.Command, e env, f *evalFlags) (*evalSetup, error) {
	cfg, _, err := f.cf.load(cmd, e)
	if err != nil {
		return nil, err
	}
	fh, err := os.Open(f.data)
	if err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	defer fh.Close()
	corpus, err := eval.ReadCorpus(fh)
	if err != nil {
		return nil, fmt.Errorf("corpus %s: %w", f.data, err)
	}
	s := &evalSetup{cfg: cfg, corpus: corpus, conds: map[string]string{}}
	for _, r := range cfg.Routes {
		s.routes = append(s.routes, r.Name)
		s.conds[r.Name] = r.Condition
		if strings.TrimSpace(r.Condition) == "" && len(r.Examples) == 0 {
			continue
		}
		th := cfg.Routing.Threshold.Value
		if r.Threshold != nil {
			th = *r.Threshold
		}
		s.indexed = append(s.indexed, classifier.Route{Name: r.Name, Condition: r.Condition, Examples: r.Examples, Threshold: th})
	}
	if err := eval.CheckLabels(corpus, s.routes); err != nil {
		return nil, err
	}
	if len(s.indexed) == 0 {
		return nil, fmt.Errorf("no route has a condition or examples: every request takes %q, nothing to evaluate", cfg.DefaultRoute)
	}
	s.emb, s.close, err = gateway.BuildEmbedder(cmd.Context(), cfg, e.gateway(), gateway.UpstreamClient(), f.cf.models)
	if err != nil {
		return nil, err
	}
	s.store = eval.NewStore(s.emb, f.cacheDir(e))
	s.tasksCache = gateway.TasksCache(e.getenv)
	return s, nil
}

// classifier builds the route index with the given aggregation and the
// routes' thresholds.
func (s *evalSetup) classifier(ctx context.Context, agg string) (*classifier.Classifier, error) {
	res, err := gateway.GroundIndex(ctx, s.cfg, s.emb, agg, s.tasksCache)
	if err != nil {
		return nil, err
	}
	s.indexed, s.grounded = res.Indexed, res
	return res.Classifier, nil
}

// build makes a router with the config's routing rules around cls. Its
// chains are empty: eval only decides (the judge, if set, is called).
func (s *evalSetup) build(cls router.Classifier) (*router.Router, error) {
	var routes []router.Route
	for _, name := range s.routes {
		var tasks []string
		if s.grounded != nil {
			for _, g := range s.grounded.Routes {
				if g.Name == name {
					tasks = g.TaskNames()
				}
			}
		}
		routes = append(routes, router.Route{Name: name, Chain: &providers.Chain{}, Condition: s.conds[name], Tasks: tasks})
	}
	opts := router.Options{
		Routes:       routes,
		DefaultRoute: s.cfg.DefaultRoute,
		Turns:        s.cfg.Routing.Turns,
		TurnDecay:    s.cfg.Routing.TurnDecay, // no Sessions: eval's samples are separate conversations
		Margin:       s.cfg.Routing.Margin,
	}
	if s.judge != nil {
		j := s.cfg.Judge
		opts.Judge = s.judge
		opts.JudgeWhen = router.JudgeWhen{Always: j.When.Always, BelowThreshold: j.When.BelowThreshold, Margin: j.When.Margin, Candidates: j.Candidates}
	}
	return router.New(cls, opts)
}

// judgeFlags point eval at an LLM judge.
type judgeFlags struct {
	on    bool
	url   string
	model string
}

func (f *judgeFlags) register(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&f.on, "judge", false, "also ask the config's LLM judge (judge: section), calling it for real; reports its share, answers, errors and latency")
	cmd.Flags().StringVar(&f.url, "judge-url", "", "with --judge: ask this OpenAI-compatible base URL (e.g. http://127.0.0.1:8000/v1, no API key) instead of judge.provider")
	// Not --judge-model: a flag named like a config key overrides that key
	// when the config is loaded (config.Load), and judge.model without
	// judge.provider does not validate.
	cmd.Flags().StringVar(&f.model, "judge-url-model", "", "with --judge-url: the model to ask for (default judge.model)")
}

// setJudge builds the judge eval --judge asks, from the config's judge
// section or --judge-url, as serving builds it (buildJudge) but with no
// circuit breaker and its cache off, so every decision that reaches it
// makes a real call and its latency is measured.
func (s *evalSetup) setJudge(e env, f judgeFlags) error {
	if !f.on {
		if f.url != "" || f.model != "" {
			return errors.New("--judge-url and --judge-url-model need --judge")
		}
		return nil
	}
	cfg := *s.cfg
	jc := &cfg.Judge
	jc.CacheSize = 0 // off
	hc := gateway.UpstreamClient()
	var provs map[string]providers.Provider
	switch {
	case f.url != "":
		if f.model != "" {
			jc.Model = f.model
		}
		if jc.Model == "" {
			return errors.New("--judge-url needs --judge-url-model (the config has no judge.model)")
		}
		jc.Provider = "judge-url"
		provs = map[string]providers.Provider{jc.Provider: openai.New(jc.Provider, f.url, "", hc)}
	case f.model != "":
		return errors.New("--judge-url-model needs --judge-url")
	case jc.Provider == "":
		return errors.New("--judge: the config has no judge (set judge.provider and judge.model, or pass --judge-url and --judge-url-model)")
	default:
		var err error
		if provs, err = gateway.BuildProviders(s.cfg, e.gateway(), hc); err != nil {
			return err
		}
	}
	s.judge = gateway.BuildJudge(&cfg, func(name string, ts []config.Target) *providers.Chain {
		c := &providers.Chain{Name: name}
		for _, t := range ts {
			c.Targets = append(c.Targets, providers.Target{Name: t.Provider + "/" + t.Model, Provider: provs[t.Provider], Model: t.Model})
		}
		return c
	}, nil)
	return nil
}

// vectors returns every example's routed text and the vectors of the
// non-empty ones, from the disk cache where it has them.
func (s *evalSetup) vectors(ctx context.Context, e env) ([]string, map[string][]float32, error) {
	texts, err := eval.RoutedTexts(ctx, s.build, s.corpus)
	if err != nil {
		return nil, nil, err
	}
	var todo []string
	for _, t := range texts {
		if t != "" {
			todo = append(todo, t)
			if s.cfg.Routing.Segments {
				todo = append(todo, classifier.Segments(t)...)
			}
		}
	}
	start := time.Now()
	vecs, embedded, err := s.store.Vectors(ctx, todo)
	if err != nil {
		return nil, nil, err
	}
	if embedded > 0 {
		fmt.Fprintf(e.stderr, "embedded %d texts in %s (cache: %s)\n", embedded, time.Since(start).Round(time.Millisecond), orNone(s.store.Path()))
	}
	return texts, vecs, nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func evalCmd(e env) *cobra.Command {
	var (
		f      evalFlags
		jf     judgeFlags
		asJSON bool
		out    string
		sample int
	)
	cmd := &cobra.Command{
		Use:   "eval --data D.jsonl [--config F] [--json] [--out report.html] [--judge]",
		Short: "Measure routing quality on a labelled corpus (no upstream calls, unless --judge)",
		Long: "eval routes every example of a labelled corpus and reports accuracy, macro-F1\n" +
			"(every route label present plus out of scope), per-route precision, recall\n" +
			"and F1, out-of-scope precision/recall/F1, coverage, the confusion matrix,\n" +
			"decision latency and the misrouted examples. No upstream is called.\n\n" +
			"Corpus lines are {\"text\": \"...\", \"label\": L} or {\"messages\": [OpenAI\n" +
			"chat messages], \"label\": L}, where L is a route name or \"oos\" (the request\n" +
			"should fall to default_route). An example labelled with the default route is\n" +
			"right whenever that route is taken; otherwise a fallback to the default\n" +
			"route counts as predicting \"oos\".\n\n" +
			"Corpus embeddings are cached on disk per embedding model (--cache), so a\n" +
			"rerun only embeds new texts; decisions are then made by the router itself\n" +
			"on the cached vectors, so thresholds, margin and default are exactly the\n" +
			"served ones. Latency is measured separately, before anything is cached:\n" +
			"up to --latency-sample real decisions (embedding included), one at a time,\n" +
			"on examples spread over the corpus; p50 and p99 are by nearest rank.\n\n" +
			"--judge also asks the config's LLM judge (the judge: section; or\n" +
			"--judge-url and --judge-url-model for any OpenAI-compatible server) whenever\n" +
			"its when: rules say so, exactly as serving does. This is the one case where\n" +
			"eval calls an upstream: every decision that reaches the judge is a real\n" +
			"call (its answer cache is off), in the latency sample and in the scored\n" +
			"pass. The report adds the share of decisions that reached the judge, the\n" +
			"answers used, errors, the judge's p50 per call, and the p50 decision time\n" +
			"of the timed decisions with and without the judge's part.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			s, err := loadEval(cmd, e, &f)
			if err != nil {
				return err
			}
			defer s.close()
			if err := s.setJudge(e, jf); err != nil {
				return err
			}
			cls, err := s.classifier(ctx, s.cfg.Aggregation())
			if err != nil {
				return err
			}
			// Time live decisions first, while the embedder's query cache
			// holds only the route utterances.
			live, err := s.build(cls)
			if err != nil {
				return err
			}
			took, err := eval.TimeDecisions(ctx, live, s.corpus, sample)
			if err != nil {
				return err
			}
			_, vecs, err := s.vectors(ctx, e)
			if err != nil {
				return err
			}
			outcomes, err := eval.Decide(ctx, s.build, cls, vecs, s.corpus)
			if err != nil {
				return err
			}
			var infos []eval.RouteInfo
			for _, r := range s.indexed {
				if r.Name != ground.NoneRoute {
					infos = append(infos, eval.RouteInfo{Name: r.Name, Threshold: r.Threshold})
				}
			}
			rep := eval.Measure(outcomes, s.routes, s.cfg.DefaultRoute, infos)
			rep.Latency = eval.NewLatency(eval.Tooks(took))
			if s.judge != nil {
				rep.Judge = eval.MeasureJudge(outcomes, took)
			}
			if out != "" {
				if err := writeReport(out, rep, f.data); err != nil {
					return err
				}
				fmt.Fprintf(e.stderr, "wrote %s\n", out)
			}
			if asJSON {
				return json.NewEncoder(e.stdout).Encode(rep)
			}
			printReport(e, rep)
			return nil
		},
	}
	f.register(cmd)
	jf.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as one JSON object")
	cmd.Flags().StringVar(&out, "out", "", "also write a self-contained HTML report to this file")
	cmd.Flags().IntVar(&sample, "latency-sample", 200, "real decisions to time for latency (0 skips)")
	return cmd
}

func writeReport(path string, rep eval.Report, data string) error {
	fh, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := eval.WriteHTML(fh, rep, "switchyard routing report: "+filepath.Base(data), time.Now()); err != nil {
		fh.Close()
		return err
	}
	if err := fh.Close(); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

func printReport(e env, rep eval.Report) {
	w := e.stdout
	fmt.Fprintf(w, "examples %d  accuracy %.3f  macro-F1 %.3f  coverage %.3f\n", rep.N, rep.Accuracy, rep.MacroF1, rep.Coverage)
	fmt.Fprintf(w, "out of scope: precision %.3f  recall %.3f  F1 %.3f  (support %d)\n", rep.OOS.Precision, rep.OOS.Recall, rep.OOS.F1, rep.OOS.Support)
	fmt.Fprintf(w, "latency: p50 %.2f ms  p99 %.2f ms  (%d decisions timed)\n", rep.Latency.P50, rep.Latency.P99, rep.Latency.N)
	if j := rep.Judge; j != nil {
		fmt.Fprintf(w, "judge: reached by %d of %d (%.1f%%), %d answers used, %d errors, %d cached; p50 %.1f ms per call\n",
			j.Calls, rep.N, 100*j.Share, j.Used, j.Errors, j.Cached, j.P50MS)
		fmt.Fprintf(w, "judge latency: decision p50 %.2f ms with, %.2f ms without its part (%+.2f ms); %+.2f ms per decision on average (%d of %d timed reached it)\n",
			j.DecisionP50MS, j.DecisionP50NoJudgeMS, j.AddedP50MS, j.AddedMeanMS, j.Timed, rep.Latency.N)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "CLASS\tPRECISION\tRECALL\tF1\tSUPPORT\t")
	for _, c := range rep.Confusion.Labels {
		if p, ok := rep.PerRoute[c]; ok {
			fmt.Fprintf(tw, "%s\t%.3f\t%.3f\t%.3f\t%d\t\n", c, p.Precision, p.Recall, p.F1, p.Support)
		}
	}
	tw.Flush()
	fmt.Fprintln(w, "\nconfusion (rows expected, columns predicted):")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "\t")
	for _, l := range rep.Confusion.Labels {
		fmt.Fprintf(tw, "%s\t", l)
	}
	fmt.Fprintln(tw)
	for i, row := range rep.Confusion.Counts {
		fmt.Fprintf(tw, "%s\t", rep.Confusion.Labels[i])
		for _, k := range row {
			fmt.Fprintf(tw, "%d\t", k)
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	if len(rep.Misrouted) == 0 {
		return
	}
	fmt.Fprintf(w, "\nmisrouted (%d):\n", len(rep.Misrouted))
	for _, m := range rep.Misrouted {
		var top []string
		for _, s := range m.Top {
			top = append(top, fmt.Sprintf("%s %.3f", s.Route, s.Score))
		}
		text := m.Text
		if r := []rune(text); len(r) > 70 {
			text = string(r[:70]) + "…"
		}
		fmt.Fprintf(w, "  line %d: want %s, got %s (%s) [%s] %q\n", m.Line, m.Label, m.Predicted, m.DecidedBy, strings.Join(top, ", "), text)
	}
}
