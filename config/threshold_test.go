package config

import (
	"fmt"
	"strings"
	"testing"
)

func TestThresholdAutoAndAggregation(t *testing.T) {
	base := `
providers: [{name: p, kind: openai, base_url: http://127.0.0.1:9/v1}]
routes:
  - {name: code, condition: programming, targets: [{provider: p, model: m}]%s}
  - {name: chat, %s targets: [{provider: p, model: m}]}
default_route: chat
%s`
	tests := []struct {
		name                 string
		routeTh, chat, extra string
		auto                 bool
		value                float64
		aggregation          string
	}{
		{"defaults: auto threshold, lda", "", "", "", true, 0, AggregateLDA},
		{"written auto", "", "", "routing: {threshold: auto}", true, 0, AggregateLDA},
		{"a number means max", "", "", "routing: {threshold: 0.3}", false, 0.3, AggregateMax},
		{"a route threshold means max", ", threshold: 0.4", "", "", true, 0, AggregateMax},
		{"a default route with a condition means max", "", "condition: greetings,", "", true, 0, AggregateMax},
		{"an explicit aggregation wins", "", "", "routing: {aggregation: mean}", true, 0, AggregateMean},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parse("c.yaml", []byte(strings.TrimSpace(fmt.Sprintf(base, tt.routeTh, tt.chat, tt.extra))), nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Routing.Threshold.Auto != tt.auto || (!tt.auto && cfg.Routing.Threshold.Value != tt.value) {
				t.Errorf("threshold %+v", cfg.Routing.Threshold)
			}
			if got := cfg.Aggregation(); got != tt.aggregation {
				t.Errorf("aggregation %s, want %s", got, tt.aggregation)
			}
		})
	}
	for _, bad := range []string{"routing: {threshold: often}", "routing: {threshold: 3}", "routing: {threshold: [1]}", "routing: {ground_examples: -1}"} {
		if _, err := parse("c.yaml", []byte(fmt.Sprintf(base, "", "", bad)), nil, nil); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
	// The environment sets it too, as a string.
	cfg, err := parse("c.yaml", []byte(fmt.Sprintf(base, "", "", "")), func() []string { return []string{"SWITCHYARD_ROUTING__THRESHOLD=0.42"} }, nil)
	if err != nil {
		t.Fatalf("from the environment: %v", err)
	}
	if cfg.Routing.Threshold != FixedThreshold(0.42) {
		t.Errorf("from the environment: %+v", cfg.Routing.Threshold)
	}
	if n := cfg.GroundCap(); n != 100 {
		t.Errorf("GroundCap with a fixed threshold = %d, want 100", n)
	}
	mas, err := parse("c.yaml", []byte(fmt.Sprintf(base, "", "condition: greetings,", "")), nil, nil)
	if err != nil || mas.GroundCap() != 300 {
		t.Errorf("GroundCap with a conditioned default = %d (%v), want 300", mas.GroundCap(), err)
	}
	if s := AutoThreshold().String(); s != "auto" {
		t.Errorf("String() = %q", s)
	}
}
