package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/switchyard-router/switchyard/gateway"
	"github.com/switchyard-router/switchyard/ground"
	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/router"
)

func routeCmd(e env) *cobra.Command {
	var (
		cf      configFlags
		asJSON  bool
		explain bool
	)
	cmd := &cobra.Command{
		Use:   "route [--config F] [--json] [--explain] TEXT | -",
		Short: "Show which route a message would take, and why",
		Long: "route embeds TEXT as a user message, scores it against every route and\n" +
			"prints the decision: the route, its score, every route's score, the\n" +
			"target chain, and how long the decision took. No upstream is called, but\n" +
			"for the LLM judge (judge: in the config) when the embedding is unsure.\n" +
			"--explain adds the text routed on and the judge's part: whether it was\n" +
			"asked and why, the candidates, its answer, whether it was used, its\n" +
			"latency. TEXT \"-\" reads the text from standard input.",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, _, err := cf.load(cmd, e)
			if err != nil {
				return err
			}
			hc := gateway.UpstreamClient()
			emb, closeEmb, err := gateway.BuildEmbedder(cmd.Context(), cfg, e.gateway(), hc, cf.models)
			if err != nil {
				return err
			}
			defer closeEmb()
			rt, err := gateway.BuildRouting(cmd.Context(), cfg, e.gateway(), hc, emb, providers.NewRegistry())
			if err != nil {
				return err
			}
			defer rt.Close()
			text := strings.Join(args, " ")
			if len(args) == 1 && args[0] == "-" {
				b, err := io.ReadAll(io.LimitReader(e.stdin, maxStdinText+1))
				if err != nil {
					return fmt.Errorf("read the text from stdin: %w", err)
				}
				if len(b) > maxStdinText {
					return fmt.Errorf("the text on stdin is over %d bytes", maxStdinText)
				}
				if text = strings.TrimSpace(string(b)); text == "" {
					return errors.New("no text on stdin")
				}
			}
			req := &providers.Request{Messages: []providers.Message{{Role: "user", Parts: []providers.Part{{Type: "text", Text: text}}}}}
			d, err := rt.Router.Decide(cmd.Context(), req)
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(e.stdout).Encode(decisionJSON(d))
			}
			printDecision(e, d, explain)
			if explain && rt.Grounded != nil {
				printGrounding(e, rt.Grounded, d)
			}
			return nil
		},
	}
	cf.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the decision as one JSON object")
	cmd.Flags().BoolVar(&explain, "explain", false, "also print the routed text and the LLM judge's part")
	return cmd
}

// maxStdinText bounds the text "route -" reads, in bytes: the default
// request body limit (server.max_body_bytes).
const maxStdinText = 4 << 20

type routeScore struct {
	Route     string  `json:"route"`
	Score     float64 `json:"score"`
	Threshold float64 `json:"threshold"`
	Nearest   string  `json:"nearest"`
	// Segment is the instruction segment that gave the route its score;
	// absent for the whole text.
	Segment string `json:"segment,omitempty"`
	// NearMiss is the route's negative that kept it from clearing.
	NearMiss string `json:"near_miss,omitempty"`
}

type decisionOut struct {
	Route     string       `json:"route"`
	DecidedBy string       `json:"decided_by"`
	Score     float64      `json:"score"`
	Margin    float64      `json:"margin"`
	Fallback  string       `json:"fallback,omitempty"`
	Scores    []routeScore `json:"scores"`
	Targets   []string     `json:"targets"`
	TookMS    float64      `json:"took_ms"`
	// Judge is the LLM judge's part; absent when it was not asked.
	Judge *router.JudgeInfo `json:"judge,omitempty"`
	Text  string            `json:"text"`
	// Segments are the instruction segments scored besides the text.
	Segments []string `json:"segments,omitempty"`
}

func decisionJSON(d router.Decision) decisionOut {
	out := decisionOut{Route: d.Route, DecidedBy: d.DecidedBy, Score: d.Score, Fallback: d.Fallback,
		TookMS: float64(d.Took.Microseconds()) / 1000, Scores: []routeScore{}, Targets: []string{}, Judge: d.Judge, Text: d.Text}
	if d.Match != nil {
		out.Margin = d.Match.Margin
		out.Segments = d.Match.Segments
		for _, s := range d.Match.Scores {
			out.Scores = append(out.Scores, routeScore{s.Route, s.Score, s.Threshold, s.Nearest, s.Segment, s.NearMiss})
		}
	}
	if d.Chain != nil {
		for _, t := range d.Chain.Targets {
			out.Targets = append(out.Targets, t.Name)
		}
	}
	return out
}

func printDecision(e env, d router.Decision, explain bool) {
	o := decisionJSON(d)
	fmt.Fprintf(e.stdout, "route: %s (%s, score %.3f, margin %.3f, %.2f ms)\n", o.Route, o.DecidedBy, o.Score, o.Margin, o.TookMS)
	if o.Fallback != "" {
		fmt.Fprintf(e.stdout, "why:   %s\n", o.Fallback)
	}
	if explain {
		fmt.Fprintf(e.stdout, "text:  %q\n", o.Text)
		for _, sg := range o.Segments {
			fmt.Fprintf(e.stdout, "segment: %q\n", sg)
		}
		if len(o.Scores) > 0 && o.Scores[0].Segment != "" {
			fmt.Fprintf(e.stdout, "decided by the segment %q\n", o.Scores[0].Segment)
		}
	}
	printJudge(e, o.Judge, explain)
	fmt.Fprintf(e.stdout, "chain: %s\n\n", strings.Join(o.Targets, " -> "))
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ROUTE\tSCORE\tTHRESHOLD\tNEAREST")
	for _, s := range o.Scores {
		th := fmt.Sprintf("%.2f", s.Threshold)
		switch {
		case s.Threshold <= ground.NoThreshold:
			th = "none"
		case s.Route == ground.NoneRoute:
			th = "-" // never cleared: nearest to it means the default route
		}
		near := strconv.Quote(s.Nearest)
		if s.NearMiss != "" {
			near += " (near miss: " + strconv.Quote(s.NearMiss) + ")"
		}
		fmt.Fprintf(tw, "%s\t%.3f\t%s\t%s\n", s.Route, s.Score, th, near)
	}
	tw.Flush()
}

// printJudge prints the judge's part of a decision: a line when it was
// asked, and with explain its reason and candidates, or that it was not
// asked.
func printJudge(e env, j *router.JudgeInfo, explain bool) {
	switch {
	case j == nil && explain:
		fmt.Fprintln(e.stdout, "judge: not asked")
		return
	case j == nil:
		return
	}
	answer := strconv.Quote(j.Answer)
	if j.Answer == "" {
		answer = "no answer"
	}
	how := "used"
	if !j.Used {
		how = "not used"
	}
	if j.Cached {
		how += ", cached"
	}
	fmt.Fprintf(e.stdout, "judge: %s (%s, %.2f ms)\n", answer, how, j.TookMS)
	if j.Error != "" {
		fmt.Fprintf(e.stdout, "       %s\n", j.Error)
	}
	if explain {
		fmt.Fprintf(e.stdout, "       asked because %s; candidates %s + none\n", j.Reason, strings.Join(j.Candidates, ", "))
	}
}

// printGrounding prints what grounding made of the decided route: its task
// types, how many pseudo-examples it took and where its threshold comes
// from.
func printGrounding(e env, res *ground.Result, d router.Decision) {
	for _, g := range res.Routes {
		if g.Name != d.Route {
			continue
		}
		fmt.Fprintf(e.stdout, "\nroute %s: threshold %s (%s)", g.Name, thresholdString(g.Threshold), g.ThresholdFrom)
		if c := g.Calibration; c != nil {
			fmt.Fprintf(e.stdout, ", calibrated on %d positives and %d negatives from the task library", c.Positives, c.Negatives)
		}
		fmt.Fprintln(e.stdout)
		if len(g.Tasks) == 0 {
			fmt.Fprintln(e.stdout, "grounded in: no task type (the condition names none, or grounding is off)")
			return
		}
		for _, t := range g.Tasks {
			fmt.Fprintf(e.stdout, "grounded in: %s (facet %q ~ %q, %.2f)\n", t.Type, t.Facet, t.Phrase, t.Similarity)
		}
		fmt.Fprintf(e.stdout, "pseudo-examples: %d from the task library (switchyard routes ground lists them all), e.g.\n", len(g.Examples))
		for _, ex := range g.Examples[:min(5, len(g.Examples))] {
			fmt.Fprintf(e.stdout, "  %q\n", ex)
		}
	}
}

func thresholdString(v float64) string {
	if v <= ground.NoThreshold {
		return "none"
	}
	return fmt.Sprintf("%.3f", v)
}
