package statedb_test

import (
	"strings"
	"testing"

	"github.com/switchyard-router/switchyard/statedb"
	"github.com/switchyard-router/switchyard/statedb/statedbtest"
)

var steps = []statedb.Migration{
	{SQLite: "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)", Postgres: "CREATE TABLE t (id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL UNIQUE)"},
	{SQLite: "ALTER TABLE t ADD COLUMN n INTEGER NOT NULL DEFAULT 7", Postgres: "ALTER TABLE t ADD COLUMN n BIGINT NOT NULL DEFAULT 7"},
}

// TestMigrate: migrations apply in order, once, with the version kept per
// component; a database newer than the code is refused; placeholders and
// unique violations read alike in both dialects.
func TestMigrate(t *testing.T) {
	statedbtest.Each(t, func(t *testing.T, db *statedb.DB) {
		ctx := t.Context()
		if err := db.Migrate(ctx, "test", steps[:1], nil); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, db.Q("INSERT INTO t (name) VALUES (?)"), "a"); err != nil {
			t.Fatal(err)
		}
		for range 2 { // the second run finds nothing to do
			if err := db.Migrate(ctx, "test", steps, nil); err != nil {
				t.Fatal(err)
			}
		}
		var n int
		if err := db.QueryRowContext(ctx, db.Q("SELECT n FROM t WHERE name = ?"), "a").Scan(&n); err != nil || n != 7 {
			t.Errorf("the second migration's column: %d (%v)", n, err)
		}
		if err := db.Migrate(ctx, "other", steps[:0], nil); err != nil {
			t.Errorf("a component with no migrations: %v", err)
		}
		if err := db.Migrate(ctx, "test", steps[:1], nil); err == nil || !strings.Contains(err.Error(), "newer") {
			t.Errorf("a database ahead of the code: %v", err)
		}
		_, err := db.ExecContext(ctx, db.Q("INSERT INTO t (name) VALUES (?)"), "a")
		if !statedb.IsUniqueViolation(err) {
			t.Errorf("duplicate name: %v, want a unique violation", err)
		}
		if _, err := db.ExecContext(ctx, "SELECT nope FROM t"); statedb.IsUniqueViolation(err) {
			t.Errorf("a bad column reads as a unique violation: %v", err)
		}
	})
}

func TestQ(t *testing.T) {
	pg := &statedb.DB{Dialect: statedb.Postgres}
	if got := pg.Q("SELECT a FROM t WHERE b = ? AND c IN (?, ?)"); got != "SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)" {
		t.Errorf("postgres: %q", got)
	}
	lite := &statedb.DB{Dialect: statedb.SQLite}
	if got := lite.Q("SELECT ? , ?"); got != "SELECT ? , ?" {
		t.Errorf("sqlite: %q", got)
	}
}

func TestOpenPostgresHidesThePassword(t *testing.T) {
	_, err := statedb.OpenPostgres(t.Context(), "postgres://me:hunter2@127.0.0.1:1/db?connect_timeout=2")
	if err == nil {
		t.Fatal("connected to port 1")
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("the error shows the password: %v", err)
	}
}
