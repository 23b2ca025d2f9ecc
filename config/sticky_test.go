package config

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestValidateConversationKeys(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(r *Routing)
		want   []string
	}{
		{"defaults", func(r *Routing) {}, nil},
		{"sticky on with defaults", func(r *Routing) { r.Sticky.Enabled = true }, nil},
		{"turn_decay 0 and 1", func(r *Routing) { r.TurnDecay = 1 }, nil},
		{"turn_decay out of range", func(r *Routing) { r.TurnDecay = 1.5 }, []string{"routing.turn_decay"}},
		{"turn_decay NaN", func(r *Routing) { r.TurnDecay = math.NaN() }, []string{"routing.turn_decay"}},
		{"sticky off is not checked", func(r *Routing) { r.Sticky = Sticky{Margin: -1} }, nil},
		{"sticky on, every key bad", func(r *Routing) {
			r.Sticky = Sticky{Enabled: true, Margin: 3, TTL: -time.Second, MaxSessions: 0}
		}, []string{"routing.sticky.margin", "routing.sticky.max_sessions", "routing.sticky.ttl"}},
	}
	for _, tt := range tests {
		c := valid()
		tt.mutate(&c.Routing)
		var got []string
		for _, err := range unjoin(c.Validate()) {
			var fe *FieldError
			if errors.As(err, &fe) && strings.HasPrefix(fe.Path, "routing.") {
				got = append(got, fe.Path)
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: problems at %v, want %v", tt.name, got, tt.want)
		}
	}
}

// The environment reaches the nested sticky keys.
func TestStickyFromEnvironment(t *testing.T) {
	path := writeFile(t, "c.yaml", string(Example()))
	c, err := Load(path, func() []string {
		return []string{"SWITCHYARD_ROUTING__STICKY__ENABLED=true", "SWITCHYARD_ROUTING__STICKY__TTL=5m", "SWITCHYARD_ROUTING__TURN_DECAY=0.25"}
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Sticky{Enabled: true, Margin: 0.35, TTL: 5 * time.Minute, MaxSessions: 10000}); c.Routing.Sticky != want || c.Routing.TurnDecay != 0.25 {
		t.Errorf("routing = %+v, want sticky %+v and turn_decay 0.25", c.Routing, want)
	}
}
