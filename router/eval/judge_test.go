package eval

import (
	"testing"
	"time"

	"github.com/switchyard-router/switchyard/router"
)

func TestMeasureJudge(t *testing.T) {
	ms := func(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }
	outcomes := []Outcome{
		{Label: "code", Route: "code", DecidedBy: router.ByEmbedding},
		{Label: "code", Route: "code", DecidedBy: router.ByJudge, Judge: &router.JudgeInfo{Answer: "code", Used: true, TookMS: 300}},
		{Label: OOS, Route: "chat", DecidedBy: router.ByJudge, Judge: &router.JudgeInfo{Answer: "none", Used: true, TookMS: 310}},
		{Label: "math", Route: "chat", DecidedBy: router.ByDefault, Judge: &router.JudgeInfo{Error: "judge: no answer within 1.5s", TookMS: 1500}},
		{Label: "math", Route: "math", DecidedBy: router.ByJudge, Judge: &router.JudgeInfo{Answer: "math", Used: true, Cached: true, TookMS: 0.01}},
	}
	timed := []Timing{{Took: ms(2)}, {Took: ms(302), Judge: ms(300)}, {Took: ms(3)}, {Took: ms(313), Judge: ms(310)}, {Took: ms(2.5)}}
	j := MeasureJudge(outcomes, timed)
	want := JudgeReport{Calls: 4, Share: 0.8, Used: 3, Cached: 1, Errors: 1, P50MS: 310, P99MS: 1500,
		DecisionP50MS: 3, DecisionP50NoJudgeMS: 2.5, AddedP50MS: 0.5, AddedMeanMS: 122, Timed: 2}
	if *j != want {
		t.Errorf("MeasureJudge =\n%+v, want\n%+v", *j, want)
	}

	// The judge answering "none" is a fallback to the default route: the
	// oos row is right and counts for out-of-scope recall, and is not
	// covered.
	rep := Measure(outcomes, []string{"code", "math", "chat"}, "chat", nil)
	if rep.Accuracy != 0.8 || rep.OOS.Recall != 1 || rep.OOS.Precision != 0.5 || rep.Coverage != 0.6 {
		t.Errorf("accuracy %.2f, oos recall %.2f precision %.2f, coverage %.2f; want 0.8, 1, 0.5, 0.6",
			rep.Accuracy, rep.OOS.Recall, rep.OOS.Precision, rep.Coverage)
	}
}
