package proxy_test

import (
	"context"
	"io"
	"net/http/httptest"
	"testing"

	"github.com/rs/zerolog"

	"github.com/switchyard-router/switchyard/auth"
	"github.com/switchyard-router/switchyard/proxy"
	"github.com/switchyard-router/switchyard/shared"
	"github.com/switchyard-router/switchyard/shared/sharedtest"
)

// BenchmarkSharedStateOverhead measures what counting a key's limits in
// Redis (state.redis) adds to the proxy path, as
// BenchmarkObservabilityOverhead does: two servers in front of one fake
// upstream, the same client key with the same limits on both, one
// counting in its own memory, the other in the Redis named by
// SWITCHYARD_TEST_REDIS_URL, interleaved in one open-loop run. The
// budget is shared-p50-ms − local-p50-ms ≤ 0.3.
func BenchmarkSharedStateOverhead(b *testing.B) {
	url := sharedtest.URL(b)
	rig := newBenchRig(b)
	key := auth.Key{Name: "bench", Roles: []string{auth.RoleUser}, Enabled: true, RequestsPerMinute: 100_000_000, TokensPerMinute: 1_000_000_000}.WithHash(auth.Hash("sk-bench"))
	keys, err := auth.NewLive(context.Background(), []auth.Key{key}, nil)
	if err != nil {
		b.Fatal(err)
	}
	st, err := shared.Open(shared.Options{URL: url, Prefix: "bench:", Log: zerolog.Nop()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	serve := func(l *auth.Limiter) string {
		srv := proxy.NewServer(zerolog.New(io.Discard), &proxy.Runtime{Router: rig.router, Keys: keys, Limits: l})
		ts := httptest.NewServer(srv.Handler())
		b.Cleanup(ts.Close)
		return ts.URL + "/v1/chat/completions"
	}
	sharedL := auth.NewLimiter()
	sharedL.SetShared(st.Limits())
	local, remote := serve(auth.NewLimiter()), serve(sharedL)
	auth := []string{"Authorization", "Bearer sk-bench"}
	for range overheadWarmup {
		for _, u := range []string{local, remote} {
			if _, err := rig.send(b.Context(), u, auth...); err != nil {
				b.Fatal(err)
			}
		}
	}
	if !st.Up() {
		b.Fatal("Redis is down")
	}
	on, off := interleave(b, rig, path{remote, auth}, path{local, auth})
	reportPair(b, "shared", on, "local", off)
}
