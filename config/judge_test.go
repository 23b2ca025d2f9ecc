package config

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestValidateJudge(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(j *Judge)
		want   []string // paths of the problems, sorted; nil = valid
	}{
		{"off by default", func(j *Judge) {}, nil},
		{"on", func(j *Judge) { j.Provider, j.Model, j.When.Margin = "home", "qwen2.5:0.5b", 0.03 }, nil},
		{"unknown provider", func(j *Judge) { j.Provider, j.Model = "opnai", "m" }, []string{"judge.provider"}},
		{"model without provider", func(j *Judge) { j.Model = "m" }, []string{"judge.provider"}},
		{"provider without model", func(j *Judge) { j.Provider = "openai" }, []string{"judge.model"}},
		{"always", func(j *Judge) { j.Provider, j.Model, j.When.Always = "openai", "m", true }, nil},
		{"always without provider", func(j *Judge) { j.When.Always = true }, []string{"judge.when.always"}},
		{"bad numbers", func(j *Judge) {
			j.When.Margin, j.Timeout, j.MaxTokens, j.Candidates, j.CacheSize = 3, 0, 0, 0, -1
		}, []string{"judge.cache_size", "judge.candidates", "judge.max_tokens", "judge.timeout", "judge.when.margin"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			tt.mutate(&c.Judge)
			var got []string
			for _, err := range unjoin(c.Validate()) {
				var fe *FieldError
				if errors.As(err, &fe) {
					got = append(got, fe.Path)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("problems at %v, want %v\n%v", got, tt.want, c.Validate())
			}
		})
	}
}

func TestLoadJudge(t *testing.T) {
	src := string(Example()) + "\n" // the judge section stays as the example has it
	src = strings.Replace(src, "  # provider: openai ", "  provider: openai   ", 1)
	src = strings.Replace(src, "  # model: gpt-4o-mini", "  model: gpt-4o-mini", 1)
	c, err := Load(writeFile(t, "c.yaml", src), func() []string { return []string{"SWITCHYARD_JUDGE__WHEN__MARGIN=0.05"} }, nil)
	if err != nil {
		t.Fatal(err)
	}
	j := c.Judge
	if j.Provider != "openai" || j.Model != "gpt-4o-mini" || !j.When.BelowThreshold || j.When.Margin != 0.05 || j.Timeout.Seconds() != 1.5 {
		t.Errorf("judge = %+v", j)
	}
}
