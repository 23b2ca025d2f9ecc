package gateway

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard-router/switchyard/config"
	"github.com/switchyard-router/switchyard/providers"
)

// lister is a provider whose model list fails while down is set.
type lister struct {
	providers.Provider
	down  atomic.Bool
	calls atomic.Int32
}

func (l *lister) ListModels(context.Context) ([]string, error) {
	l.calls.Add(1)
	if l.down.Load() {
		return nil, errors.New("connection refused")
	}
	return []string{"m"}, nil
}

func TestHealthChecksTripAndRecoverAProvider(t *testing.T) {
	cfg := &config.Config{Providers: []config.Provider{
		{Name: "checked", HealthCheckPeriod: 20 * time.Millisecond},
		{Name: "unchecked"},
	}}
	checked, unchecked := &lister{}, &lister{}
	reg := providers.NewRegistry()
	a := reg.Get(providers.HealthKey{Provider: "checked", Model: "m"}, providers.HealthPolicy{RecoveryInterval: time.Hour})
	b := reg.Get(providers.HealthKey{Provider: "unchecked", Model: "m"}, providers.HealthPolicy{RecoveryInterval: time.Hour})
	checked.down.Store(true)
	unchecked.down.Store(true)
	stop := startHealthChecks(cfg, map[string]providers.Provider{"checked": checked, "unchecked": unchecked}, reg)
	defer stop()

	waitUntil(t, "a failed check to open the circuit", func() bool { return !a.Available(time.Now()) })
	if !b.Available(time.Now()) || unchecked.calls.Load() != 0 {
		t.Fatalf("a provider without health_check_period was checked (%d calls)", unchecked.calls.Load())
	}
	checked.down.Store(false)
	waitUntil(t, "a good check to close the circuit", func() bool { return a.Available(time.Now()) })

	stop()
	n := checked.calls.Load()
	time.Sleep(60 * time.Millisecond)
	if checked.calls.Load() != n {
		t.Error("checks go on after stop")
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
