package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/switchyard-router/switchyard/gateway"
	"github.com/switchyard-router/switchyard/ground"
)

func routesGroundCmd(e env) *cobra.Command {
	var (
		cf     configFlags
		asJSON bool
		all    bool
	)
	cmd := &cobra.Command{
		Use:   "ground [--config F] [--json] [--all]",
		Short: "Show the task types each route's condition is grounded in, its pseudo-examples and threshold",
		Long: "ground builds the route index as serving does and prints, per route, the\n" +
			"task types of the built-in library its condition was grounded in (which\n" +
			"facet named which type, and how closely), the pseudo-examples it took\n" +
			"from the library, and its threshold with where it comes from (the\n" +
			"route's own, routing.threshold, auto: calibrated on the library, or\n" +
			"none: the default route has a condition, so the best route always wins).\n\n" +
			"To pin what grounding chose, copy a route's examples into the config\n" +
			"and set ground: false on it. The examples are printed as YAML ready to\n" +
			"paste; --all prints every one rather than the first ten.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, _, err := cf.load(cmd, e)
			if err != nil {
				return err
			}
			if !gateway.NeedsEmbedder(cfg) {
				return fmt.Errorf("no route has a condition or examples: nothing to ground")
			}
			emb, closeEmb, err := gateway.BuildEmbedder(cmd.Context(), cfg, e.gateway(), gateway.UpstreamClient(), cf.models)
			if err != nil {
				return err
			}
			defer closeEmb()
			res, err := gateway.GroundIndex(cmd.Context(), cfg, emb, cfg.Aggregation(), gateway.TasksCache(e.getenv))
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(e.stdout).Encode(struct {
					Aggregation string            `json:"aggregation"`
					Routes      []ground.Grounded `json:"routes"`
				}{res.Aggregation, res.Routes})
			}
			fmt.Fprintf(e.stdout, "aggregation: %s\n", res.Aggregation)
			for _, g := range res.Routes {
				fmt.Fprintf(e.stdout, "\nroute %s\n", g.Name)
				fmt.Fprintf(e.stdout, "  threshold: %s (%s", thresholdString(g.Threshold), g.ThresholdFrom)
				if c := g.Calibration; c != nil && c.Positives > 0 {
					fmt.Fprintf(e.stdout, "; %d positives, %d negatives, weighted accuracy %.2f", c.Positives, c.Negatives, c.Accuracy)
				} else if c != nil {
					fmt.Fprintf(e.stdout, "; grounded in nothing: %.0f%% of %d unclaimed library prompts stay below it", 100*ground.UngroundedQuantile, c.Negatives)
				}
				fmt.Fprintln(e.stdout, ")")
				if len(g.Tasks) == 0 {
					fmt.Fprintln(e.stdout, "  grounded in: nothing")
					continue
				}
				for _, t := range g.Tasks {
					fmt.Fprintf(e.stdout, "  grounded in: %-22s facet %q ~ %q (%.2f)\n", t.Type, t.Facet, t.Phrase, t.Similarity)
				}
				show := g.Examples
				if !all && len(show) > 10 {
					show = show[:10]
				}
				out, err := yaml.Marshal(map[string][]string{"examples": show})
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "  pseudo-examples (%d):\n", len(g.Examples))
				for _, l := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
					fmt.Fprintf(e.stdout, "    %s\n", l)
				}
				if len(show) < len(g.Examples) {
					fmt.Fprintf(e.stdout, "    # … %d more (--all)\n", len(g.Examples)-len(show))
				}
			}
			return nil
		},
	}
	cf.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the grounding as one JSON object")
	cmd.Flags().BoolVar(&all, "all", false, "print every pseudo-example, not the first ten")
	return cmd
}
