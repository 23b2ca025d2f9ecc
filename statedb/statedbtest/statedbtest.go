// Package statedbtest gives tests state databases of both dialects: a
// SQLite file in the test's temporary directory, and a schema of its own
// in the PostgreSQL server named by SWITCHYARD_TEST_POSTGRES_URL
// (scripts/test.sh starts one on loopback and sets it).
package statedbtest

import (
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchyard-router/switchyard/statedb"
)

// PostgresEnv names the variable that holds the test server's URL.
const PostgresEnv = "SWITCHYARD_TEST_POSTGRES_URL"

// RequireEnv, set to 1, makes a test that needs a server it was not
// given fail rather than skip (CI sets it).
const RequireEnv = "SWITCHYARD_REQUIRE_SERVERS"

// SQLite opens a fresh SQLite state database, closed when t ends.
func SQLite(t testing.TB) *statedb.DB {
	t.Helper()
	db, err := statedb.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// PostgresURL returns the URL of a fresh, empty schema in the test server
// (dropped when t ends), for code that opens the database itself. It
// skips t when there is no server, or fails it when RequireEnv is set.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("%s is not set and %s=1: PostgreSQL tests must run", PostgresEnv, RequireEnv)
		}
		t.Skipf("no PostgreSQL server: set %s (scripts/test.sh starts one)", PostgresEnv)
	}
	admin, err := statedb.OpenPostgres(t.Context(), base)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(t.Context(), "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		admin.ExecContext(t.Context(), "DROP SCHEMA "+schema+" CASCADE")
		admin.Close()
	})
	return withSearchPath(t, base, schema)
}

// Postgres opens a fresh, empty schema in the test server as a state
// database, closed and dropped when t ends; see PostgresURL.
func Postgres(t testing.TB) *statedb.DB {
	t.Helper()
	db, err := statedb.OpenPostgres(t.Context(), PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Each runs f once per dialect, as a subtest named after it: SQLite
// always, PostgreSQL when there is a server (see PostgresURL).
func Each(t *testing.T, f func(t *testing.T, db *statedb.DB)) {
	t.Run("sqlite", func(t *testing.T) { f(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { f(t, Postgres(t)) })
}

// withSearchPath sets the connection's search_path to schema, in a URL or
// a key=value connection string.
func withSearchPath(t testing.TB, base, schema string) string {
	if u, err := url.Parse(base); err == nil && u.Scheme != "" {
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	if strings.Contains(base, "search_path") {
		t.Fatalf("%s: give a URL, or a connection string without search_path", PostgresEnv)
	}
	return base + " search_path=" + schema
}
