package router

import (
	"context"
	"fmt"

	"github.com/switchyard-router/switchyard/classifier"
	"github.com/switchyard-router/switchyard/router/judge"
	"github.com/switchyard-router/switchyard/tracing"
)

// Judge is what the router needs from an LLM judge; *judge.Judge has it.
// Choose must honour ctx, and a Verdict's Route must be a candidate's
// name or "" for none of them.
type Judge interface {
	Choose(ctx context.Context, text string, candidates []judge.Candidate) (judge.Verdict, error)
}

// JudgeWhen says when the judge is asked. With no rule on, it never is.
type JudgeWhen struct {
	// Always asks the judge about every classified request, offering it
	// every indexed route in config order, plus "none" (MAS's method);
	// the rules below and Candidates are then moot. A judge failure still
	// falls back to the embedding decision.
	Always bool
	// BelowThreshold asks the judge when no route cleared its threshold.
	BelowThreshold bool
	// Margin asks the judge when the best route beats the second by less
	// than this, cleared or not. 0 is off.
	Margin float64
	// Candidates is how many of the best-scoring routes are offered, with
	// "none" (the default route). 0 means 4.
	Candidates int
}

// JudgeInfo is the judge's part in a decision.
type JudgeInfo struct {
	// Reason says why the judge was asked.
	Reason string `json:"reason"`
	// Candidates are the routes offered: best score first, or config
	// order with JudgeWhen.Always.
	Candidates []string `json:"candidates"`
	// Answer is what the judge answered ("none" included), as read; it
	// may be a name that is not a candidate.
	Answer string `json:"answer,omitempty"`
	// Used reports that the answer decided the route (DecidedBy ByJudge).
	Used bool `json:"used"`
	// Cached reports an answer from the judge's cache, with no call.
	Cached bool `json:"cached"`
	// TookMS is the judge's time, in milliseconds.
	TookMS float64 `json:"took_ms"`
	// Error is why the judge's answer was not used (a timeout, an upstream
	// error, an answer that is not a candidate); the embedding decision
	// stood.
	Error string `json:"error,omitempty"`
}

// judgeReason says why the judge should be asked about m, or "" when it
// should not.
func (r *Router) judgeReason(m *classifier.Match) string {
	switch {
	case r.judge == nil || len(m.Scores) == 0:
		return ""
	case r.when.Always:
		return fmt.Sprintf("judge.when.always (best %q scored %.3f)", m.Route, m.Score)
	case !m.Cleared && r.when.BelowThreshold:
		return fmt.Sprintf("no route cleared its threshold (best %q scored %.3f)", m.Route, m.Score)
	case len(m.Scores) > 1 && m.Margin < r.when.Margin:
		return fmt.Sprintf("best route %q leads %q by %.3f, under the judge margin %.3f", m.Route, m.Scores[1].Route, m.Margin, r.when.Margin)
	}
	return ""
}

// judged asks the judge about d's match when the embedding is unsure.
// done reports a decision made by the judge; otherwise d comes back with
// d.Judge set (when it was asked) for the embedding decision to go on. A
// judge failure is never an error, except for the request's own
// cancellation.
func (r *Router) judged(ctx context.Context, d Decision) (_ Decision, done bool, _ error) {
	why := r.judgeReason(d.Match)
	if why == "" {
		return d, false, nil
	}
	cands := r.candidates(d.Match)
	info := &JudgeInfo{Reason: why, Candidates: make([]string, 0, len(cands))}
	for _, c := range cands {
		info.Candidates = append(info.Candidates, c.Name)
	}
	d.Judge = info
	jctx, span := tracing.Start(ctx, "judge")
	v, err := r.judge.Choose(jctx, d.Text, cands)
	if span.IsRecording() {
		span.SetAttributes(tracing.JudgeAnswer.String(v.Answer), tracing.JudgeCached.Bool(v.Cached))
	}
	tracing.End(span, err)
	info.Answer, info.Cached, info.TookMS = v.Answer, v.Cached, float64(v.Took.Microseconds())/1000
	chain, known := r.routes[v.Route]
	switch {
	case err != nil && ctx.Err() != nil:
		return Decision{}, false, ctx.Err()
	case err != nil:
		info.Error = err.Error()
		return d, false, nil
	case v.Route == "":
		info.Used = true
		d.Fallback = "the judge chose none of " + fmt.Sprint(info.Candidates)
		d = r.fallback(d)
		d.DecidedBy = ByJudge
		return d, true, nil
	case !known || !isCandidate(v.Route, cands):
		info.Error = fmt.Sprintf("the judge chose %q, not a candidate", v.Route)
		return d, false, nil
	}
	info.Used = true
	d.Route, d.DecidedBy, d.Chain, d.Score = v.Route, ByJudge, chain, scoreOf(d.Match, v.Route)
	return d, true, nil
}

// candidates are the routes offered to the judge about m: the best
// when.Candidates by score, or with when.Always every route m scored, in
// config order. Config order keeps the prompt's prefix the same from one
// request to the next (a server's prompt cache reuses it), and gives the
// judge no hint of the embedding's ranking to lean on.
func (r *Router) candidates(m *classifier.Match) []judge.Candidate {
	if r.when.Always {
		scored := make(map[string]bool, len(m.Scores))
		for _, s := range m.Scores {
			scored[s.Route] = true
		}
		out := make([]judge.Candidate, 0, len(m.Scores))
		for _, name := range r.order {
			if scored[name] {
				out = append(out, r.cands[name])
			}
		}
		return out
	}
	n := r.when.Candidates
	if n <= 0 {
		n = 4
	}
	out := make([]judge.Candidate, 0, min(n, len(m.Scores)))
	for _, s := range m.Scores {
		if len(out) == n {
			break
		}
		// A scored name that is no route (the index's own stand-in for
		// "none of them", ground.NoneRoute) is what "none" already says.
		if c, ok := r.cands[s.Route]; ok {
			out = append(out, c)
		}
	}
	return out
}

func isCandidate(name string, cands []judge.Candidate) bool {
	for _, c := range cands {
		if c.Name == name {
			return true
		}
	}
	return false
}
