package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/switchyard-router/switchyard/ground"
	"github.com/switchyard-router/switchyard/proxy"
	"github.com/switchyard-router/switchyard/router/eval"
)

// maxEvalExamples bounds a corpus evaluated on the server: each example
// is a live decision.
const maxEvalExamples = 5000

var _ proxy.Evaluator = (*Gateway)(nil)

// RunEval implements proxy.Evaluator: the corpus console.eval_data names,
// routed by the runtime in force exactly as it serves (live decisions,
// embedding and, when its rules say so, the judge), scored as `switchyard
// eval` scores it, with its HTML report. One runs at a time.
func (g *Gateway) RunEval(ctx context.Context) (*proxy.EvalResult, error) {
	if !g.evalMu.TryLock() {
		return nil, errors.New("an evaluation is running")
	}
	defer g.evalMu.Unlock()
	g.mu.Lock()
	cur, cfg := g.cur, g.cfg
	g.mu.Unlock()
	path := cfg.Console.EvalData
	if path == "" {
		return nil, errors.New("no corpus: set console.eval_data to a labelled JSON Lines file")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	corpus, err := eval.ReadCorpus(f)
	f.Close()
	if err != nil {
		return nil, err
	}
	if len(corpus) > maxEvalExamples {
		return nil, fmt.Errorf("%s has %d examples; the server evaluates at most %d (use switchyard eval)", path, len(corpus), maxEvalExamples)
	}
	var routes []string
	for _, r := range cfg.Routes {
		routes = append(routes, r.Name)
	}
	if err := eval.CheckLabels(corpus, routes); err != nil {
		return nil, err
	}
	start := time.Now()
	outcomes := make([]eval.Outcome, 0, len(corpus))
	var took []time.Duration
	for _, ex := range corpus {
		d, err := cur.Router.Decide(ctx, ex.Request())
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", ex.Line, err)
		}
		outcomes = append(outcomes, eval.NewOutcome(ex, d))
		took = append(took, d.Took)
	}
	var infos []eval.RouteInfo
	if cur.Grounded != nil {
		for _, r := range cur.Grounded.Indexed {
			if r.Name != ground.NoneRoute {
				infos = append(infos, eval.RouteInfo{Name: r.Name, Threshold: r.Threshold})
			}
		}
	}
	rep := eval.Measure(outcomes, routes, cfg.DefaultRoute, infos)
	rep.Latency = eval.NewLatency(took)
	var html bytes.Buffer
	if err := eval.WriteHTML(&html, rep, path, time.Now()); err != nil {
		return nil, err
	}
	summary, err := json.Marshal(rep)
	if err != nil {
		return nil, err
	}
	res := &proxy.EvalResult{Time: start, Data: path, TookMS: float64(time.Since(start).Microseconds()) / 1000, Report: summary, HTML: html.Bytes()}
	g.mu.Lock()
	g.lastEval = res
	g.mu.Unlock()
	return res, nil
}

// LastEval implements proxy.Evaluator.
func (g *Gateway) LastEval() *proxy.EvalResult {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.lastEval
}
