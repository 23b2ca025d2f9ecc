// Package sharedtest gives tests the Redis server named by
// SWITCHYARD_TEST_REDIS_URL (scripts/test-servers.sh starts one on
// loopback).
package sharedtest

import (
	"os"
	"testing"
)

// URL returns the test server's URL. It skips t when there is none, or
// fails it when SWITCHYARD_REQUIRE_SERVERS=1 (CI).
func URL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("SWITCHYARD_TEST_REDIS_URL")
	if u == "" {
		if os.Getenv("SWITCHYARD_REQUIRE_SERVERS") == "1" {
			t.Fatal("SWITCHYARD_TEST_REDIS_URL is not set and SWITCHYARD_REQUIRE_SERVERS=1: Redis tests must run")
		}
		t.Skip("no Redis server: set SWITCHYARD_TEST_REDIS_URL (scripts/test-servers.sh starts one)")
	}
	return u
}
