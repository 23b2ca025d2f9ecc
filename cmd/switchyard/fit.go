package main

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/switchyard-router/switchyard/classifier"
	"github.com/switchyard-router/switchyard/config"
	"github.com/switchyard-router/switchyard/router/eval"
)

func fitCmd(e env) *cobra.Command {
	var (
		f     evalFlags
		seed  uint64
		val   float64
		write bool
	)
	cmd := &cobra.Command{
		Use:   "fit --data D.jsonl [--config F] [--seed N] [--val 0.3] [--write]",
		Short: "Tune thresholds, margin and aggregation on a labelled corpus",
		Long: "fit tunes routing.threshold, each route's threshold, routing.margin and\n" +
			"routing.aggregation to maximise macro-F1 (every route label plus out of\n" +
			"scope, as switchyard eval reports it) and prints the result as a config\n" +
			"patch; --write applies it to the config file, keeping its comments.\n\n" +
			"Give it data you may fit on, never your test set: fit makes its own\n" +
			"stratified split (--val of each label held out, shuffled by --seed), tunes\n" +
			"on the train part only, and reports before and after on the held-out part.\n\n" +
			"Method: every example is embedded once (through eval's disk cache) and\n" +
			"scored against every route under each aggregation: max, mean of the top_k\n" +
			"nearest utterances, and lda. Then, per aggregation, coordinate ascent on\n" +
			"the train part: the global threshold over a grid (step 0.01, 0.00-1.00 for\n" +
			"cosines, -1.00-1.00 for lda), each route's threshold over the same grid,\n" +
			"the margin (0-0.10 step 0.01 for cosines, 0-0.30 step 0.02 for lda),\n" +
			"repeated until a pass gains nothing; a value moves only on a strict gain,\n" +
			"to the middle of its best plateau. The aggregation with the best train macro-F1\n" +
			"wins. A route with fewer than 5 train examples gets its threshold shrunk\n" +
			"toward the global one in proportion (n/5), since a threshold fitted to a\n" +
			"handful of examples is noise. Decisions follow the router's rules exactly:\n" +
			"the top route is taken when it reaches its threshold and leads the\n" +
			"runner-up by at least the margin, else the default route.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			s, err := loadEval(cmd, e, &f)
			if err != nil {
				return err
			}
			defer s.close()
			texts, vecs, err := s.vectors(ctx, e)
			if err != nil {
				return err
			}
			byAgg := make([]*classifier.Classifier, len(classifier.Aggregations))
			for a, agg := range classifier.Aggregations {
				if byAgg[a], err = s.classifier(ctx, agg); err != nil {
					return err
				}
			}
			t := &eval.Table{Routes: s.routes, Default: s.cfg.DefaultRoute}
			labels := make([]string, len(s.corpus))
			for _, r := range s.indexed {
				t.Indexed = append(t.Indexed, r.Name)
			}
			for i, ex := range s.corpus {
				rv, segs := [][]float32{vecs[texts[i]]}, []string(nil)
				if s.cfg.Routing.Segments && texts[i] != "" {
					segs = classifier.Segments(texts[i])
					for _, sg := range segs {
						rv = append(rv, vecs[sg])
					}
				}
				row, err := eval.NewSegmentedRow(ctx, ex.Label, rv, segs, byAgg...)
				if err != nil {
					return fmt.Errorf("line %d: %w", ex.Line, err)
				}
				t.Rows = append(t.Rows, row)
				labels[i] = ex.Label
			}
			train, valid, err := eval.Split(labels, val, seed)
			if err != nil {
				return err
			}
			before := eval.Params{Aggregation: s.cfg.Aggregation(), Threshold: s.cfg.Routing.Threshold.Value, Margin: s.cfg.Routing.Margin}
			for _, r := range s.indexed {
				before.Thresholds = append(before.Thresholds, r.Threshold)
			}
			res := eval.Fit(t, train, valid, before, eval.FitOptions{})
			p := fitPatch(s.cfg, t, res.After)
			printFit(e, res, t)
			fmt.Fprintln(e.stdout, "\nconfig patch:")
			fmt.Fprint(e.stdout, patchYAML(p))
			if !write {
				return nil
			}
			path, err := f.cf.resolve(e)
			if err != nil {
				return err
			}
			if err := config.PatchFile(path, p); err != nil {
				return err
			}
			fmt.Fprintf(e.stderr, "wrote the patch to %s\n", path)
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().Uint64Var(&seed, "seed", 1, "seed of the train/validation shuffle")
	cmd.Flags().Float64Var(&val, "val", 0.3, "share of each label held out for validation, in (0, 1)")
	cmd.Flags().BoolVar(&write, "write", false, "apply the patch to the config file (comments kept)")
	return cmd
}

// fitPatch turns fitted parameters into a config patch: a route gets a
// threshold of its own when the fit differs from the global one, or when
// it had one already (so the old value cannot linger).
func fitPatch(cfg *config.Config, t *eval.Table, p eval.Params) config.Patch {
	agg := p.Aggregation
	out := config.Patch{Threshold: &p.Threshold, Aggregation: &agg, Margin: &p.Margin, RouteThresholds: map[string]float64{}}
	had := map[string]bool{}
	for _, r := range cfg.Routes {
		had[r.Name] = r.Threshold != nil
	}
	for i, name := range t.Indexed {
		if _, route := had[name]; !route {
			continue // ground.NoneRoute, the index's own
		}
		if th := p.Thresholds[i]; had[name] || math.Abs(th-p.Threshold) > 1e-9 {
			out.RouteThresholds[name] = th
		}
	}
	return out
}

// patchYAML prints p as the YAML it stands for.
func patchYAML(p config.Patch) string {
	var b strings.Builder
	fmt.Fprintf(&b, "routing:\n  threshold: %.2f\n  aggregation: %s\n  margin: %.2f\n", *p.Threshold, *p.Aggregation, *p.Margin)
	if len(p.RouteThresholds) > 0 {
		b.WriteString("routes:\n")
		for _, name := range slices.Sorted(maps.Keys(p.RouteThresholds)) {
			fmt.Fprintf(&b, "  - name: %s\n    threshold: %.2f\n", name, p.RouteThresholds[name])
		}
	}
	return b.String()
}

func printFit(e env, res eval.FitResult, t *eval.Table) {
	w := e.stdout
	fmt.Fprintf(w, "train %d examples, validation %d (held out)\n", res.NTrain, res.NVal)
	fmt.Fprint(w, "train macro-F1 by aggregation (before shrinking thin routes):")
	for _, agg := range classifier.Aggregations {
		if f, ok := res.PerAggregation[agg]; ok {
			fmt.Fprintf(w, " %s %.3f", agg, f)
		}
	}
	fmt.Fprint(w, "\n\n")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\tACCURACY\tMACRO-F1\tOOS F1\t")
	for _, row := range []struct {
		name string
		s    eval.Score
	}{
		{"train before", res.TrainBefore}, {"train after", res.TrainAfter},
		{"validation before", res.ValBefore}, {"validation after", res.ValAfter},
	} {
		fmt.Fprintf(tw, "%s\t%.3f\t%.3f\t%.3f\t\n", row.name, row.s.Accuracy, row.s.MacroF1, row.s.OOSF1)
	}
	tw.Flush()
	fmt.Fprintf(w, "\naggregation %s -> %s, threshold %.2f -> %.2f, margin %.2f -> %.2f\n",
		res.Before.Aggregation, res.After.Aggregation, res.Before.Threshold, res.After.Threshold, res.Before.Margin, res.After.Margin)
	for i, name := range t.Indexed {
		fmt.Fprintf(w, "  %s: threshold %.2f -> %.2f\n", name, res.Before.Thresholds[i], res.After.Thresholds[i])
	}
}
