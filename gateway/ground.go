package gateway

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/switchyard-router/switchyard/config"
	"github.com/switchyard-router/switchyard/embed"
	"github.com/switchyard-router/switchyard/ground"
	"github.com/switchyard-router/switchyard/tasks"
)

// GroundIndex builds the route index of cfg with aggregation agg: routes
// grounded in the task library (routing.ground, per route ground), auto
// thresholds calibrated, instruction segments on or off (routing.segments).
// Library vectors come from the binary for the pinned model, else from the
// cache under cacheDir ("" for none), else from emb.
//
// agg is cfg.Aggregation() when serving; with routing.aggregation auto, an
// lda that ground finds too thin falls back to max (ground.Options.AutoLDA).
// Callers that try one aggregation on purpose (fit) get exactly it.
func GroundIndex(ctx context.Context, cfg *config.Config, emb embed.Embedder, agg, cacheDir string) (*ground.Result, error) {
	routes := make([]ground.Route, len(cfg.Routes))
	grounding := false
	for i, r := range cfg.Routes {
		g := cfg.Routing.Ground
		if r.Ground != nil {
			g = *r.Ground
		}
		routes[i] = ground.Route{Name: r.Name, Condition: r.Condition, Examples: r.Examples, Negatives: r.Negatives, Ground: g, Threshold: r.Threshold}
		if strings.TrimSpace(r.Condition) != "" && (g || (cfg.Routing.Threshold.Auto && r.Threshold == nil)) {
			grounding = true
		}
	}
	opts := ground.Options{
		Embed:       emb.Embed,
		Classifier:  classifierOptions(cfg.Routing, agg),
		Auto:        cfg.Routing.Threshold.Auto,
		Threshold:   fallbackThreshold(cfg.Routing, agg),
		NoThreshold: cfg.DefaultHasCondition(),
		MaxExamples: cfg.GroundCap(),
		AutoLDA:     cfg.Routing.Aggregation == config.AggregateAuto && agg == cfg.Aggregation(),
	}
	if grounding {
		lib, err := tasks.Load()
		if err != nil {
			return nil, err
		}
		shipped, err := tasks.Shipped(emb.ID())
		if err != nil {
			return nil, err
		}
		vecs, err := tasks.Resolve(ctx, emb.ID(), shipped, ground.Texts(lib), emb.Embed, cacheDir)
		if err != nil {
			return nil, fmt.Errorf("task library: %w", err)
		}
		opts.Library, opts.Vectors = lib, vecs
	}
	res, err := ground.Build(ctx, routes, opts)
	if err != nil {
		return nil, fmt.Errorf("build route index: %w", err)
	}
	if grounding {
		// Grounding parses the library and its vectors and scores
		// thousands of its prompts, then keeps a few hundred: hand the
		// transient heap back to the OS now rather than holding it at its
		// peak for the life of the process.
		debug.FreeOSMemory()
	}
	return res, nil
}

// fallbackThreshold is the global threshold when it is a number, and what
// an auto threshold falls back to without the library: 0.35 for cosines,
// 0 for lda.
func fallbackThreshold(r config.Routing, agg string) float64 {
	switch {
	case !r.Threshold.Auto:
		return r.Threshold.Value
	case agg == config.AggregateLDA:
		return 0
	}
	return 0.35
}

// TasksCache is where library vectors of embedders other than the pinned
// model are kept.
func TasksCache(getenv func(string) string) string {
	if c := getenv("XDG_CACHE_HOME"); c != "" && filepath.IsAbs(c) {
		return filepath.Join(c, "switchyard", "tasks")
	}
	if h := getenv("HOME"); h != "" {
		return filepath.Join(h, ".cache", "switchyard", "tasks")
	}
	return ""
}
