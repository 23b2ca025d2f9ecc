package eval

import (
	"time"
)

// JudgeReport is the LLM judge's part in an evaluation (eval --judge).
// Judge calls are real upstream calls, so its latencies are those of the
// judge's server.
type JudgeReport struct {
	// Calls counts the decisions that reached the judge (it was asked),
	// Cached included; Share is Calls over all decisions.
	Calls int     `json:"calls"`
	Share float64 `json:"share"`
	// Used counts answers that decided the route ("none" included).
	Used int `json:"used"`
	// Cached counts answers from the judge's cache, made with no call.
	Cached int `json:"cached"`
	// Errors counts calls whose answer was not used: failures, timeouts,
	// answers that name no candidate. The embedding decision stood.
	Errors int `json:"errors"`
	// P50MS and P99MS are the judge's time per call, over the calls made
	// (cached answers excluded), in milliseconds, by nearest rank.
	P50MS float64 `json:"p50_ms"`
	P99MS float64 `json:"p99_ms"`
	// DecisionP50MS is the p50 of the timed decisions, judge included
	// (Report.Latency.P50); DecisionP50NoJudgeMS is the p50 of the same
	// decisions less the judge's time; AddedP50MS is the difference.
	DecisionP50MS        float64 `json:"decision_p50_ms"`
	DecisionP50NoJudgeMS float64 `json:"decision_p50_without_judge_ms"`
	AddedP50MS           float64 `json:"added_p50_ms"`
	// AddedMeanMS is the judge's mean time over all timed decisions, those
	// that did not reach it included: what it adds per decision on
	// average, which the p50 hides while under half of them reach it.
	AddedMeanMS float64 `json:"added_mean_ms"`
	// Timed is how many timed decisions reached the judge.
	Timed int `json:"timed_judged"`
}

// MeasureJudge summarises the judge's part in outcomes, and in timed, the
// decisions timed for latency.
func MeasureJudge(outcomes []Outcome, timed []Timing) *JudgeReport {
	rep := &JudgeReport{}
	var took []time.Duration
	for _, o := range outcomes {
		j := o.Judge
		if j == nil {
			continue
		}
		rep.Calls++
		switch {
		case j.Used:
			rep.Used++
		case j.Error != "":
			rep.Errors++
		}
		if j.Cached {
			rep.Cached++
		} else {
			took = append(took, time.Duration(j.TookMS*float64(time.Millisecond)))
		}
	}
	if len(outcomes) > 0 {
		rep.Share = float64(rep.Calls) / float64(len(outcomes))
	}
	lat := NewLatency(took)
	rep.P50MS, rep.P99MS = lat.P50, lat.P99
	with := make([]time.Duration, 0, len(timed))
	without := make([]time.Duration, 0, len(timed))
	var judged time.Duration
	for _, t := range timed {
		with = append(with, t.Took)
		without = append(without, max(t.Took-t.Judge, 0))
		judged += t.Judge
		if t.Judge > 0 {
			rep.Timed++
		}
	}
	if len(timed) > 0 {
		rep.AddedMeanMS = float64((judged / time.Duration(len(timed))).Microseconds()) / 1000
	}
	rep.DecisionP50MS = NewLatency(with).P50
	rep.DecisionP50NoJudgeMS = NewLatency(without).P50
	rep.AddedP50MS = rep.DecisionP50MS - rep.DecisionP50NoJudgeMS
	return rep
}

// Tooks returns the decisions' whole times.
func Tooks(ts []Timing) []time.Duration {
	out := make([]time.Duration, len(ts))
	for i, t := range ts {
		out[i] = t.Took
	}
	return out
}
