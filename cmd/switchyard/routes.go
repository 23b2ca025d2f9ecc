package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/switchyard-router/switchyard/classifier"
	"github.com/switchyard-router/switchyard/config"
	"github.com/switchyard-router/switchyard/embed"
	"github.com/switchyard-router/switchyard/gateway"
	"github.com/switchyard-router/switchyard/router"
	"github.com/switchyard-router/switchyard/router/eval"
)

// datasetOOS labels a dataset text that fits no route; such texts belong to
// the fallback route, which has no utterances, so they are skipped.
const datasetOOS = "oos"

// datasetEmbedBatch is how many texts go to the embedder per call: large
// enough to keep every core busy, small enough for steady progress output.
const datasetEmbedBatch = 256

// datasetFlags are the flags of routes from-dataset.
type datasetFlags struct {
	perRoute      string
	provider      string
	kind          string
	baseURL       string
	apiKeyEnv     string
	model         string
	models        string
	config        string
	conditionFrom string
	noCondition   bool
	seed          uint64
}

func routesCmd(e env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "routes",
		Short: "Build routes from data",
	}
	cmd.AddCommand(routesFromDatasetCmd(e), routesGroundCmd(e))
	cmd.AddCommand(routesExpandCmd(e))
	return cmd
}

func routesFromDatasetCmd(e env) *cobra.Command {
	var f datasetFlags
	cmd := &cobra.Command{
		Use:   "from-dataset DATA.jsonl --examples-per-route N",
		Short: "Print a config with one route per label of a labelled dataset",
		Long: "from-dataset reads JSON Lines of {\"text\": ..., \"label\": ...} (- for standard\n" +
			"input; blank lines and lines starting with # are skipped), drops repeated\n" +
			"texts (the first label wins) and texts labelled oos, and prints a complete\n" +
			"config to standard output: one provider, one route per label (named after\n" +
			"it, its condition the label in words, its examples the N most\n" +
			"representative texts: k-medoids over their embeddings, so they cover the\n" +
			"label's variety), and a fallback route, with no utterances, as\n" +
			"default_route: the route requests like the oos texts should take.\n\n" +
			"The embedder is the local model unless --config names a config whose\n" +
			"embedder (and routing settings) to use. The same data, flags and --seed\n" +
			"give the same output. Progress goes to standard error.",
		Example: "  switchyard routes from-dataset intents.jsonl --examples-per-route 8 > config.yaml\n" +
			"  switchyard routes from-dataset intents.jsonl --examples-per-route all \\\n" +
			"      --provider openai --base-url https://api.openai.com/v1 --model gpt-4o-mini",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runFromDataset(cmd, e, args[0], &f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.perRoute, "examples-per-route", "", `examples to keep per label: a number, or 0 or "all" for every one (required)`)
	fl.StringVar(&f.provider, "provider", "upstream", "name of the provider every route targets")
	fl.StringVar(&f.kind, "kind", config.ProviderOpenAI, "the provider's kind: openai, ollama or anthropic")
	fl.StringVar(&f.baseURL, "base-url", "http://127.0.0.1:8000/v1", "the provider's base URL")
	fl.StringVar(&f.apiKeyEnv, "api-key-env", "", "NAME of the environment variable holding the provider's key")
	fl.StringVar(&f.model, "model", "", "model every route targets (default: the route's label)")
	fl.StringVar(&f.models, "models", "", "models directory for the local embedder")
	fl.StringVar(&f.config, "config", "", "take the embedder and routing settings from this config")
	fl.StringVar(&f.conditionFrom, "condition-from", "labels", `where conditions come from: labels ("book_flight" gives "book flight") or none`)
	fl.BoolVar(&f.noCondition, "no-condition", false, "give routes no condition, only examples (same as --condition-from none)")
	fl.Uint64Var(&f.seed, "seed", 1, "seed for choosing examples")
	cmd.MarkFlagRequired("examples-per-route")
	return cmd
}

// labelled is one label's texts, in dataset order.
type labelled struct {
	label string
	texts []string
}

// datasetStats counts what reading a dataset dropped.
type datasetStats struct {
	texts, dupes, conflicts, oos int
}

func runFromDataset(cmd *cobra.Command, e env, path string, f *datasetFlags) error {
	perRoute, err := parsePerRoute(f.perRoute)
	if err != nil {
		return err
	}
	conditions := true
	switch {
	case f.noCondition:
		conditions = false
	case f.conditionFrom == "labels":
	case f.conditionFrom == "none":
		conditions = false
	default:
		return fmt.Errorf("--condition-from %q: want labels or none", f.conditionFrom)
	}

	cfg := config.Default()
	if f.config != "" {
		if cfg, err = config.Load(f.config, e.environ, nil); err != nil {
			return err
		}
	}

	var in io.Reader = e.stdin
	if path != "-" {
		file, err := os.Open(path)
		if err != nil {
			return err
		}
		defer file.Close()
		in = file
	}
	labels, stats, err := readDataset(in, cfg.Routing.Turns)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	fmt.Fprintf(e.stderr, "routes: %d labels, %d texts (%d repeated texts dropped, %d under a second label; %d oos skipped)\n",
		len(labels), stats.texts, stats.dupes, stats.conflicts, stats.oos)

	// The embedder is loaded only if some label has more texts than are
	// kept, so "all" works without a model.
	var emb embed.Embedder
	if slices.ContainsFunc(labels, func(l labelled) bool { return perRoute > 0 && len(l.texts) > perRoute }) {
		var closeEmb func() error
		emb, closeEmb, err = gateway.BuildEmbedder(cmd.Context(), cfg, e.gateway(), gateway.UpstreamClient(), f.models)
		if err != nil {
			return err
		}
		defer closeEmb()
	}
	chosen := make([][]string, len(labels))
	for i, l := range labels {
		if perRoute == 0 || len(l.texts) <= perRoute {
			chosen[i] = l.texts
			continue
		}
		fmt.Fprintf(e.stderr, "routes: [%d/%d] %s: embedding %d texts\n", i+1, len(labels), l.label, len(l.texts))
		vecs := make([][]float32, 0, len(l.texts))
		for start := 0; start < len(l.texts); start += datasetEmbedBatch {
			batch := l.texts[start:min(start+datasetEmbedBatch, len(l.texts))]
			v, err := emb.Embed(cmd.Context(), batch)
			if err != nil {
				return fmt.Errorf("label %q: %w", l.label, err)
			}
			if len(v) != len(batch) {
				return fmt.Errorf("label %q: embedder returned %d vectors for %d texts", l.label, len(v), len(batch))
			}
			vecs = append(vecs, v...)
		}
		for _, j := range classifier.Medoids(vecs, perRoute, f.seed) {
			chosen[i] = append(chosen[i], l.texts[j])
		}
	}

	out, err := renderDatasetConfig(cfg, f, path, labels, chosen, conditions, stats)
	if err != nil {
		return err
	}
	if err := checkDatasetConfig(out); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "routes: wrote %d routes and the fallback route\n", len(labels))
	_, err = e.stdout.Write(out)
	return err
}

// routedText is what a conversation in OpenAI's messages form is routed
// on, parsed as eval corpora are (router/eval).
func routedText(messages json.RawMessage, turns int) (string, error) {
	line, err := json.Marshal(map[string]any{"messages": messages, "label": "x"})
	if err != nil {
		return "", fmt.Errorf(`bad "messages": %w`, err)
	}
	exs, err := eval.ReadCorpus(bytes.NewReader(line))
	if err != nil {
		return "", err
	}
	return router.RoutedText(exs[0].Messages, turns, 0), nil
}

// parsePerRoute reads --examples-per-route; 0 means every example.
func parsePerRoute(s string) (int, error) {
	if strings.EqualFold(s, "all") {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf(`--examples-per-route %q: want a number of examples, or 0 or "all" for every one`, s)
	}
	return n, nil
}

// datasetLine is one line of a dataset. A label may be a JSON number.
type datasetLine struct {
	Text     *string         `json:"text"`
	Messages json.RawMessage `json:"messages"`
	Label    any             `json:"label"`
}

// readDataset reads {"text", "label"} lines, and {"messages", "label"}
// lines (a conversation in OpenAI's form, as eval corpora have), grouping
// texts by label in order of first appearance. A conversation's text is
// what the router routes it on: its last turns user turns
// (router.RoutedText). A text seen before is dropped, whatever its label;
// oos texts are skipped. Every bad line is reported.
func readDataset(r io.Reader, turns int) ([]labelled, datasetStats, error) {
	var (
		stats  datasetStats
		errs   []error
		groups []labelled
	)
	index := map[string]int{}   // label → groups index
	seen := map[string]string{} // text → its first label
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for n := 1; sc.Scan(); n++ {
		raw := bytes.TrimSpace(sc.Bytes())
		if len(raw) == 0 || raw[0] == '#' {
			continue
		}
		var l datasetLine
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&l); err != nil {
			errs = append(errs, fmt.Errorf("line %d: bad JSON: %w", n, err))
			continue
		}
		var label string
		switch v := l.Label.(type) {
		case string:
			label = strings.TrimSpace(v)
		case json.Number:
			label = v.String()
		case nil:
		default:
			errs = append(errs, fmt.Errorf(`line %d: "label" is not a string`, n))
			continue
		}
		if l.Text == nil && l.Messages != nil {
			text, err := routedText(l.Messages, turns)
			if err != nil {
				errs = append(errs, fmt.Errorf("line %d: %w", n, err))
				continue
			}
			l.Text = &text
		}
		switch {
		case label == "":
			errs = append(errs, fmt.Errorf(`line %d: missing "label"`, n))
			continue
		case l.Text == nil && l.Messages == nil:
			errs = append(errs, fmt.Errorf(`line %d: needs "text" or "messages"`, n))
			continue
		case strings.TrimSpace(*l.Text) == "":
			errs = append(errs, fmt.Errorf(`line %d: empty "text", or no user text in "messages"`, n))
			continue
		case strings.EqualFold(label, config.AutoModel):
			errs = append(errs, fmt.Errorf("line %d: label %q is reserved for routing; rename it", n, label))
			continue
		}
		if label == datasetOOS {
			stats.oos++
			continue
		}
		text := *l.Text
		if first, dup := seen[text]; dup {
			stats.dupes++
			if first != label {
				stats.conflicts++
			}
			continue
		}
		seen[text] = label
		i, ok := index[label]
		if !ok {
			i = len(groups)
			index[label] = i
			groups = append(groups, labelled{label: label})
		}
		groups[i].texts = append(groups[i].texts, text)
		stats.texts++
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, stats, errors.Join(errs...)
	}
	if len(groups) == 0 {
		return nil, stats, errors.New("no labelled texts (other than oos)")
	}
	return groups, stats, nil
}

// datasetEmbedder is config.Embedder as a file holds it: a duration
// string, where yaml would write nanoseconds.
type datasetEmbedder struct {
	Kind      string `yaml:"kind"`
	Model     string `yaml:"model"`
	URL       string `yaml:"url,omitempty"`
	APIKeyEnv string `yaml:"api_key_env,omitempty"`
	Timeout   string `yaml:"timeout"`
	CacheSize int    `yaml:"cache_size"`
}

// datasetConfig is the generated file's shape, in config.Config's key
// order; everything else keeps its default.
type datasetConfig struct {
	Embedder     datasetEmbedder   `yaml:"embedder"`
	Providers    []config.Provider `yaml:"providers"`
	Routes       []config.Route    `yaml:"routes"`
	DefaultRoute string            `yaml:"default_route"`
	Routing      config.Routing    `yaml:"routing"`
}

// renderDatasetConfig writes the config as commented YAML.
func renderDatasetConfig(cfg *config.Config, f *datasetFlags, path string, labels []labelled, chosen [][]string, conditions bool, stats datasetStats) ([]byte, error) {
	taken := map[string]bool{}
	for _, l := range labels {
		taken[l.label] = true
	}
	fallback := "fallback"
	for n := 2; taken[fallback]; n++ {
		fallback = "fallback-" + strconv.Itoa(n)
	}
	target := func(route string) []config.Target {
		model := f.model
		if model == "" {
			model = route
		}
		return []config.Target{{Provider: f.provider, Model: model}}
	}

	dc := datasetConfig{
		Embedder: datasetEmbedder{
			Kind:      cfg.Embedder.Kind,
			Model:     cfg.Embedder.Model,
			URL:       cfg.Embedder.URL,
			APIKeyEnv: cfg.Embedder.APIKeyEnv,
			Timeout:   cfg.Embedder.Timeout.String(),
			CacheSize: cfg.Embedder.CacheSize,
		},
		Providers:    []config.Provider{{Name: f.provider, Kind: f.kind, BaseURL: f.baseURL, APIKeyEnv: f.apiKeyEnv}},
		DefaultRoute: fallback,
		Routing:      cfg.Routing,
	}
	total := 0
	for i, l := range labels {
		r := config.Route{Name: l.label, Examples: chosen[i], Targets: target(l.label)}
		if conditions {
			r.Condition = strings.Join(strings.Fields(strings.NewReplacer("_", " ", "-", " ").Replace(l.label)), " ")
		}
		dc.Routes = append(dc.Routes, r)
		total += len(chosen[i])
	}
	dc.Routes = append(dc.Routes, config.Route{Name: fallback, Targets: target(fallback)})

	var doc yaml.Node
	if err := doc.Encode(dc); err != nil {
		return nil, fmt.Errorf("render config: %w", err)
	}
	per := f.perRoute
	if n, _ := parsePerRoute(per); n == 0 {
		per = "all"
	}
	doc.HeadComment = fmt.Sprintf("Generated by switchyard routes from-dataset %s --examples-per-route %s --seed %d\n"+
		"%d routes with %d examples, from %d distinct texts (%d oos texts skipped).\n"+
		"Point the provider at your upstream, and each target at a model.",
		path, per, f.seed, len(labels), total, stats.texts, stats.oos)
	if routes := datasetMappingValue(&doc, "routes"); routes != nil && len(routes.Content) > 0 {
		for _, r := range routes.Content {
			if ts := datasetMappingValue(r, "targets"); ts != nil {
				for _, t := range ts.Content {
					t.Style = yaml.FlowStyle // - {provider: upstream, model: m}, as in the example config
				}
			}
		}
		routes.Content[len(routes.Content)-1].HeadComment = "No condition and no examples: taken when no route matches, as the\n" +
			"dataset's oos texts should be."
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, fmt.Errorf("render config: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("render config: %w", err)
	}
	return b.Bytes(), nil
}

// datasetMappingValue returns the value of key in a document's top-level
// mapping, or nil.
func datasetMappingValue(doc *yaml.Node, key string) *yaml.Node {
	m := doc
	if m.Kind == yaml.DocumentNode && len(m.Content) == 1 {
		m = m.Content[0]
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// checkDatasetConfig loads the generated config as serve would, so that a
// flag value the config refuses (a bad --base-url, say) is reported here
// rather than when the file is first used.
func checkDatasetConfig(data []byte) error {
	tmp, err := os.CreateTemp("", "switchyard-routes-*.yaml")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if _, err := config.Load(tmp.Name(), nil, nil); err != nil {
		return fmt.Errorf("the generated config does not validate (check --provider, --kind, --base-url, --api-key-env and --model): %w", err)
	}
	return nil
}
