package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/switchyard-router/switchyard/config"
	"github.com/switchyard-router/switchyard/usage"
)

// usagePath is the store's file for cfg.
func usagePath(cfg *config.Config, e env) (string, error) {
	if cfg.Usage.Path != "" {
		return cfg.Usage.Path, nil
	}
	return usage.DefaultPath(e.getenv)
}

// openUsage opens the usage store and starts its writer and retention,
// or returns nils when the store is off (usage.enabled: false, or no
// place to keep it, which is logged). stop flushes the queue and closes
// the store; call it after the server has drained.
func openUsage(ctx context.Context, cfg *config.Config, e env, log zerolog.Logger) (*usage.SQLite, *usage.Writer, func(), error) {
	if !cfg.Usage.Enabled {
		log.Info().Msg("usage store off (usage.enabled: false)")
		return nil, nil, func() {}, nil
	}
	path, err := usagePath(cfg, e)
	if err != nil {
		log.Warn().Err(err).Msg("usage store off")
		return nil, nil, func() {}, nil
	}
	store, err := usage.OpenSQLite(ctx, path)
	if err != nil {
		return nil, nil, nil, err
	}
	w := usage.NewWriter(store, usage.WriterOptions{Queue: cfg.Usage.Queue, OnError: func(err error) {
		log.Error().Err(err).Msg("usage store: rows lost")
	}})
	pctx, stopPrune := context.WithCancel(context.Background())
	pruned := make(chan struct{})
	go func() {
		defer close(pruned)
		prune := func() {
			if cfg.Usage.Retention <= 0 {
				return
			}
			if n, err := store.Prune(pctx, time.Now().Add(-cfg.Usage.Retention)); err != nil && pctx.Err() == nil {
				log.Warn().Err(err).Msg("usage store: prune failed")
			} else if n > 0 {
				log.Info().Int64("rows", n).Stringer("retention", cfg.Usage.Retention).Msg("usage store: old rows deleted")
			}
		}
		prune()
		t := time.NewTicker(time.Hour)
		defer t.Stop()
		for {
			select {
			case <-pctx.Done():
				return
			case <-t.C:
				prune()
			}
		}
	}()
	log.Info().Str("path", path).Msg("usage store open")
	stop := func() {
		stopPrune()
		<-pruned
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := w.Close(cctx); err != nil {
			log.Warn().Err(err).Msg("usage store: queue not flushed")
		}
		written, dropped, failed := w.Stats()
		log.Info().Uint64("written", written).Uint64("dropped", dropped).Uint64("failed", failed).Msg("usage store closed")
		store.Close()
	}
	return store, w, stop, nil
}

// prices is the price table for cfg: the shipped list prices, replaced
// model by model by the config's.
func prices(cfg *config.Config) usage.Prices {
	p := maps.Clone(usage.Prices(usage.DefaultPrices))
	for m, pr := range cfg.Prices {
		p[m] = usage.Price{Input: pr.Input, Output: pr.Output, CachedInput: pr.CachedInput}
	}
	return p
}

func statsCmd(e env) *cobra.Command {
	var (
		cf      configFlags
		db      string
		days    int
		by      string
		asJSON  bool
		heatmap bool
	)
	cmd := &cobra.Command{
		Use:   "stats [--days N] [--by key|model|route|provider|decided_by|dialect|status|day] [--heatmap] [--json]",
		Short: "Requests, tokens and cost from the usage store",
		Long: "stats reads the usage store (usage.path, or --db) and sums the last --days\n" +
			"days of requests: in total, or grouped with --by. --heatmap draws requests\n" +
			"per hour of each weekday (local time) instead.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if db == "" {
				cfg, _, err := cf.load(cmd, e)
				if err != nil {
					return err
				}
				if db, err = usagePath(cfg, e); err != nil {
					return err
				}
			}
			store, err := usage.OpenSQLite(cmd.Context(), db)
			if err != nil {
				return err
			}
			defer store.Close()
			since := time.Now().Add(-time.Duration(days) * 24 * time.Hour)
			if heatmap {
				hm, err := store.Heatmap(cmd.Context(), since, time.Local)
				if err != nil {
					return err
				}
				if asJSON {
					return json.NewEncoder(e.stdout).Encode(hm)
				}
				printHeatmap(e.stdout, hm, days)
				return nil
			}
			groups, err := store.Summary(cmd.Context(), since, by)
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(e.stdout).Encode(map[string]any{"days": days, "by": by, "groups": groups})
			}
			printGroups(e.stdout, groups, by, days)
			return nil
		},
	}
	cf.register(cmd)
	cmd.Flags().StringVar(&db, "db", "", "usage store file (default: the config's usage.path)")
	cmd.Flags().IntVar(&days, "days", 7, "days to sum, back from now")
	cmd.Flags().StringVar(&by, "by", "", "group by key, model, route, provider, decided_by, dialect, status or day")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().BoolVar(&heatmap, "heatmap", false, "requests by weekday and hour")
	return cmd
}

func printGroups(w io.Writer, groups []usage.Group, by string, days int) {
	if len(groups) == 0 {
		fmt.Fprintf(w, "no requests in the last %d days\n", days)
		return
	}
	head := strings.ToUpper(by)
	if head == "" {
		head = "TOTAL"
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%s\tREQUESTS\tERRORS\tPROMPT TOK\tCOMPLETION TOK\tCOST USD\tMEAN MS\t\n", head)
	for _, g := range groups {
		name := g.Name
		if name == "" {
			name = "-"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%.4f\t%.1f\t\n", name, g.Requests, g.Errors, g.PromptTokens, g.CompletionTokens, g.Cost, g.MeanLatencyMS)
	}
	tw.Flush()
}

// printHeatmap draws requests per weekday and hour, each cell shaded by
// its share of the busiest.
func printHeatmap(w io.Writer, hm [7][24]int64, days int) {
	var peak, total int64
	for _, row := range hm {
		for _, n := range row {
			peak, total = max(peak, n), total+n
		}
	}
	fmt.Fprintf(w, "requests by hour (local time), last %d days: %d in all, busiest hour %d\n", days, total, peak)
	fmt.Fprint(w, "     ")
	for h := range 24 {
		fmt.Fprintf(w, "%-3d", h)
	}
	fmt.Fprintln(w)
	shades := []string{" ", "░", "▒", "▓", "█"}
	for _, d := range []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday} {
		fmt.Fprintf(w, "%s  ", d.String()[:3])
		for h := range 24 {
			n := hm[d][h]
			s := shades[0]
			if n > 0 && peak > 0 {
				s = shades[1+int((n*int64(len(shades)-2))/peak)]
			}
			fmt.Fprintf(w, "%s%s ", s, s)
		}
		fmt.Fprintln(w)
	}
}
