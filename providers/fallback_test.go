package providers_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/providers/anthropic"
	"github.com/switchyard-router/switchyard/providers/providertest"
)

// TestChainFallbackOrder checks the order each strategy tries targets in,
// against real HTTP fakes: chain [a/gpt, b/claude, c/gpt], with c also
// serving a's model.
func TestChainFallbackOrder(t *testing.T) {
	tests := []struct {
		name      string
		fallback  providers.Fallback
		openFirst bool // a's circuit is open: a is skipped, not tried
		retries   int
		want      string // requests reaching a, b, c, d
		wantErr   int
	}{
		{"priority tries the chain in order", providers.FallbackPriority, false, 0, "1100", 0},
		{"default is priority", "", false, 0, "1100", 0},
		{"same-model moves c up, before b", providers.FallbackSameModel, false, 0, "1010", 0},
		{"same-model after a skipped target", providers.FallbackSameModel, true, 0, "0010", 0},
		{"none: one attempt, no retry", providers.FallbackNone, false, 2, "1000", 503},
		{"none takes the first available target", providers.FallbackNone, true, 0, "0100", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := providertest.OpenAI(t, providertest.Script{Status: 503})
			b := providertest.OpenAI(t)
			c := providertest.OpenAI(t)
			d := providertest.OpenAI(t) // serves gpt too, but only as an alternate
			mk := func(name, url, model string) providers.Target {
				tg := target(name, url, http.DefaultClient, 0)
				tg.Name, tg.Model = name+"/"+model, model
				tg.Health = providers.NewHealth(providers.HealthPolicy{MaxFailures: 1})
				return tg
			}
			ta, tb, tc, td := mk("a", a.URL, "gpt"), mk("b", b.URL, "claude"), mk("c", c.URL, "gpt"), mk("d", d.URL, "gpt")
			if tt.openFirst {
				ta.Health.Trip(time.Now(), errors.New("down"))
			}
			chain := &providers.Chain{
				Targets:  []providers.Target{ta, tb, tc},
				Fallback: tt.fallback,
				Retries:  tt.retries,
				Backoff:  time.Millisecond,
				// c is in the chain and an alternate: it moves up and is not
				// tried again in its place; a itself is listed and skipped.
				SameModel: func(model string) []providers.Target {
					if model != "gpt" {
						return nil
					}
					return []providers.Target{ta, tc, td}
				},
			}
			_, err := run(t.Context(), chain, false)
			if got := status(t, err); got != tt.wantErr {
				t.Fatalf("status %d (%v), want %d", got, err, tt.wantErr)
			}
			got := ""
			for _, u := range []*providertest.Upstream{a, b, c, d} {
				got += string(rune('0' + u.Requests()))
			}
			if got != tt.want {
				t.Errorf("requests a,b,c,d = %s, want %s", got, tt.want)
			}
		})
	}
}

// TestChainSameModelAllFail: every provider of the model fails, then the
// chain goes on to its next model, once each.
func TestChainSameModelAllFail(t *testing.T) {
	a := providertest.OpenAI(t, providertest.Script{Status: 500})
	b := providertest.OpenAI(t, providertest.Script{Text: "other model"})
	c := providertest.OpenAI(t, providertest.Script{Status: 429})
	ta, tb, tc := target("a", a.URL, http.DefaultClient, 0), target("b", b.URL, http.DefaultClient, 0), target("c", c.URL, http.DefaultClient, 0)
	ta.Model, tb.Model, tc.Model = "gpt", "claude", "gpt"
	chain := &providers.Chain{Targets: []providers.Target{ta, tb}, Fallback: providers.FallbackSameModel,
		SameModel: func(string) []providers.Target { return []providers.Target{tc, tc} }}
	text, err := run(t.Context(), chain, true)
	if err != nil || text != "other model" {
		t.Fatalf("got %q, %v", text, err)
	}
	if a.Requests() != 1 || c.Requests() != 1 || b.Requests() != 1 {
		t.Errorf("requests a %d c %d b %d, want 1 each", a.Requests(), c.Requests(), b.Requests())
	}
}

// TestSameModelForwardSkipsNonForwarders: on a forwarded path, same-model
// fallback adds only the alternates that can forward. The chain's first
// target fails; of the alternates serving its model, the Anthropic one
// cannot take /embeddings and is left out (not called, and no panic), and
// the OpenAI one answers.
func TestSameModelForwardSkipsNonForwarders(t *testing.T) {
	a := providertest.OpenAI(t, providertest.Script{Status: 503})
	b := providertest.OpenAI(t)
	var anthropicCalls atomic.Int32
	an := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		anthropicCalls.Add(1)
		http.Error(w, "no", http.StatusInternalServerError)
	}))
	defer an.Close()
	ta := target("a", a.URL, http.DefaultClient, 0)
	ta.Model = "gpt"
	tb := target("b", b.URL, http.DefaultClient, 0)
	tb.Name, tb.Model = "b/gpt", "gpt"
	tn := providers.Target{Name: "an/gpt", Provider: anthropic.New("an", an.URL, "key", http.DefaultClient), Model: "gpt"}
	chain := &providers.Chain{
		Targets:  []providers.Target{ta},
		Fallback: providers.FallbackSameModel,
		SameModel: func(string) []providers.Target {
			return []providers.Target{tn, tb}
		},
	}
	var got string
	err := chain.Forward(context.Background(), &providers.ForwardRequest{
		Path: "/embeddings", Model: "gpt",
		Body: map[string]json.RawMessage{"model": json.RawMessage(`"gpt"`), "input": json.RawMessage(`"hi"`)},
	}, func(_ context.Context, t providers.Target, resp *http.Response, commit func() error) error {
		if _, err := io.ReadAll(resp.Body); err != nil {
			return err
		}
		if err := commit(); err != nil {
			return err
		}
		got = t.Name
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got != "b/gpt" {
		t.Errorf("answered by %q, want b/gpt", got)
	}
	if n := anthropicCalls.Load(); n != 0 {
		t.Errorf("the anthropic alternate was called %d times", n)
	}
	if a.Requests() != 1 || b.Requests() != 1 {
		t.Errorf("requests: a %d, b %d; want 1 each", a.Requests(), b.Requests())
	}
}
