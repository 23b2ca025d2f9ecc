package router_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/router"
)

func TestDecideDiscover(t *testing.T) {
	discovered := &providers.Chain{}
	var asked []string
	r, err := router.New(nil, router.Options{
		Routes:       []router.Route{{Name: "chat", Chain: chatChain}},
		DefaultRoute: "chat",
		Models:       map[string]*providers.Chain{"gpt-4o-mini": modelChain},
		Discover: func(model string) *providers.Chain {
			asked = append(asked, model)
			if model == "llama3.2:latest" {
				return discovered
			}
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		model   string
		want    *providers.Chain
		wantErr bool
	}{
		{"chat", chatChain, false},             // a route wins over discovery
		{"gpt-4o-mini", modelChain, false},     // so does a configured model
		{"llama3.2:latest", discovered, false}, // else a discovered one
		{"no-such-model", nil, true},           // nil from Discover is a 404
		{"auto", chatChain, false},             // auto never asks Discover
	}
	for _, tt := range tests {
		d, err := r.Decide(t.Context(), request(tt.model))
		if tt.wantErr {
			if !errors.Is(err, router.ErrNoRoute) {
				t.Errorf("%s: Decide = %v, want ErrNoRoute", tt.model, err)
			}
			continue
		}
		if err != nil || d.Chain != tt.want {
			t.Errorf("%s: Decide = %+v, %v; want its chain", tt.model, d, err)
		}
		if tt.want == discovered && (d.Model != tt.model || d.DecidedBy != router.ByExplicit || d.Route != "") {
			t.Errorf("%s: decision %+v, want an explicit model", tt.model, d)
		}
	}
	if want := []string{"llama3.2:latest", "no-such-model"}; !slices.Equal(asked, want) {
		t.Errorf("Discover asked for %q, want %q", asked, want)
	}
}
