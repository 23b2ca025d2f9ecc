package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/switchyard-router/switchyard/config"
	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/shared"
)

// circuitChannel carries circuit openings and closings between replicas.
const circuitChannel = "circuits"

// circuitNews is one replica's circuit change, as announced.
type circuitNews struct {
	From     string `json:"from"` // the announcing replica
	Provider string `json:"provider"`
	Model    string `json:"model"`
	Open     bool   `json:"open"`
	Until    int64  `json:"until,omitempty"` // unix ms, for an opening
	Error    string `json:"error,omitempty"`
}

// openShared connects to the Redis cfg names, if any: key limits count
// there, and circuits opened here are announced to the other replicas
// (and theirs applied here). stop closes it.
func (g *Gateway) openShared(ctx context.Context, cfg *config.Config) (stop func(), err error) {
	rc := cfg.State.Redis
	url := rc.URL
	if rc.URLEnv != "" {
		if url = g.env.getenv(rc.URLEnv); url == "" {
			return nil, fmt.Errorf("state.redis.url_env: %s is unset or empty", rc.URLEnv)
		}
	}
	if url == "" {
		return func() {}, nil
	}
	st, err := shared.Open(shared.Options{URL: url, Timeout: rc.Timeout, Prefix: rc.Prefix, Log: g.log})
	if err != nil {
		return nil, err
	}
	b := make([]byte, 8)
	rand.Read(b)
	g.replica = hex.EncodeToString(b)
	g.env.Shared = st
	g.limits.SetShared(st.Limits())
	st.Subscribe(circuitChannel, g.circuitNews)
	if !st.Up() {
		g.log.Warn().Str("redis", st.Where()).Msg("shared state configured but Redis does not answer: serving on this replica's own state until it does")
	} else {
		g.log.Info().Str("redis", st.Where()).Msg("shared state on: key limits, sessions, judge verdicts and circuits are shared")
	}
	return func() { st.Close() }, nil
}

// announce tells the other replicas of a circuit change made here.
func (g *Gateway) announce(k providers.HealthKey, to string, reason error) {
	if g.env.Shared == nil {
		return
	}
	g.remoteMu.Lock()
	remote := g.remote[k]
	g.remoteMu.Unlock()
	if remote {
		return // applying another replica's news: not ours to repeat
	}
	n := circuitNews{From: g.replica, Provider: k.Provider, Model: k.Model, Open: to == providers.CircuitOpen}
	switch to {
	case providers.CircuitOpen:
		for _, ts := range g.health.Status(time.Now()) {
			if ts.Provider == k.Provider && ts.Model == k.Model {
				n.Until = ts.Until.UnixMilli()
			}
		}
		if reason != nil {
			n.Error = reason.Error()
		}
	case providers.CircuitClosed:
	default:
		return // half-open is each replica's own probe
	}
	b, _ := json.Marshal(n)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	g.env.Shared.Publish(ctx, circuitChannel, string(b))
}

// circuitNews applies another replica's circuit change here.
func (g *Gateway) circuitNews(msg string) {
	var n circuitNews
	if json.Unmarshal([]byte(msg), &n) != nil || n.From == g.replica {
		return
	}
	k := providers.HealthKey{Provider: n.Provider, Model: n.Model}
	g.remoteMu.Lock()
	g.remote[k] = true
	g.remoteMu.Unlock()
	defer func() {
		g.remoteMu.Lock()
		delete(g.remote, k)
		g.remoteMu.Unlock()
	}()
	if n.Open {
		reason := errors.New("opened by another replica: " + n.Error)
		g.health.TripTarget(time.Now(), k, time.UnixMilli(n.Until), reason)
		return
	}
	g.health.RecoverTarget(k)
}
