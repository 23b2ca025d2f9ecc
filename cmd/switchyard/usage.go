package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/switchyard-router/switchyard/gateway"
	"github.com/switchyard-router/switchyard/usage"
)

// openStore opens the usage store: the SQLite file db when given, else
// the one the config's usage section names (SQLite or PostgreSQL).
func openStore(cmd *cobra.Command, e env, cf *configFlags, db string) (*usage.Store, error) {
	if db != "" {
		return usage.OpenSQLite(cmd.Context(), db)
	}
	cfg, _, err := cf.load(cmd, e)
	if err != nil {
		return nil, err
	}
	return gateway.OpenUsage(cmd.Context(), cfg, e.getenv)
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
		Long: "stats reads the usage store (the config's usage section, or the SQLite file\n" +
			"--db) and sums the last --days\n" +
			"days of requests: in total, or grouped with --by. --heatmap draws requests\n" +
			"per hour of each weekday (local time) instead.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			store, err := openStore(cmd, e, &cf, db)
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
	cmd.Flags().StringVar(&db, "db", "", "SQLite store file (default: the config's usage store)")
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
