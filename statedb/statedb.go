// Package statedb is the database switchyard keeps its state in: the
// usage rows (package usage) and the client keys created at run time
// (package auth). It is one SQLite file by default (pure Go, no cgo) or a
// PostgreSQL database, which several replicas share. The package opens
// either, rewrites the few places their SQL differs, and applies each
// component's versioned schema migrations exactly once, also when
// replicas start together.
package statedb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // the PostgreSQL driver, "pgx"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Dialect is the SQL a DB speaks.
type Dialect int

const (
	SQLite Dialect = iota
	Postgres
)

func (d Dialect) String() string {
	if d == Postgres {
		return "postgres"
	}
	return "sqlite"
}

// DB is an open state database. It is safe for concurrent use.
type DB struct {
	*sql.DB
	Dialect Dialect
	// Where says which database this is, for logs: the SQLite file, or
	// the PostgreSQL URL without its password.
	Where string
}

// OpenSQLite opens (creating it and its directory if needed) the SQLite
// file at path.
func OpenSQLite(ctx context.Context, path string) (*DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	// WAL lets readers (stats) run beside the writer; a busy timeout
	// rides over the moments another process holds the lock.
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_pragma=synchronous(NORMAL)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	db.SetMaxOpenConns(1) // SQLite has one writer; one connection keeps it simple
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &DB{DB: db, Dialect: SQLite, Where: path}, nil
}

// OpenPostgres connects to the PostgreSQL database at url (a
// postgres:// URL or a key=value connection string).
func OpenPostgres(ctx context.Context, url string) (*DB, error) {
	where := redact(url)
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(4)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	return &DB{DB: db, Dialect: Postgres, Where: where}, nil
}

// redact drops the password from a connection URL.
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" {
		if strings.Contains(s, "password") {
			return "(a PostgreSQL connection string)"
		}
		return s
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// Q returns query in d's dialect: its "?" placeholders numbered $1, $2, …
// for PostgreSQL. Queries must not hold a "?" elsewhere (in a string
// literal).
func (d *DB) Q(query string) string {
	if d.Dialect != Postgres || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Migration is one schema version of a component, in each dialect.
type Migration struct {
	SQLite, Postgres string
}

// versions records each component's schema version.
const versions = `CREATE TABLE IF NOT EXISTS schema_versions (
	component TEXT PRIMARY KEY,
	version INTEGER NOT NULL
)`

// Migrate brings component's schema up to date: it applies, in order and
// each in its own transaction with its version recorded, the migrations
// the database has not had. Never edit a migration that has shipped: add
// the next. On PostgreSQL an advisory lock makes replicas that start
// together apply each migration once.
//
// legacy, when not nil, reads the version of a database from before
// schema_versions (the usage schema kept it in SQLite's user_version).
func (d *DB) Migrate(ctx context.Context, component string, steps []Migration, legacy func(context.Context, *sql.Conn) (int, error)) error {
	conn, err := d.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if d.Dialect == Postgres {
		// Session-level, on this one connection, held across the
		// transactions below.
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(hashtext('switchyard schema'))"); err != nil {
			return err
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(hashtext('switchyard schema'))")
	}
	if _, err := conn.ExecContext(ctx, versions); err != nil {
		return err
	}
	var v int
	err = conn.QueryRowContext(ctx, d.Q("SELECT version FROM schema_versions WHERE component = ?"), component).Scan(&v)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if legacy == nil {
			break
		}
		if v, err = legacy(ctx, conn); err != nil {
			return err
		}
		if v > 0 { // adopted: recorded, so that it is read from here on
			if _, err := conn.ExecContext(ctx, d.Q("INSERT INTO schema_versions (component, version) VALUES (?, ?)"), component, v); err != nil {
				return err
			}
		}
	case err != nil:
		return err
	}
	if v > len(steps) {
		return fmt.Errorf("%s schema version %d is newer than this switchyard knows (%d)", component, v, len(steps))
	}
	for i := v; i < len(steps); i++ {
		q := steps[i].SQLite
		if d.Dialect == Postgres {
			q = steps[i].Postgres
		}
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, q); err != nil {
			tx.Rollback()
			return fmt.Errorf("%s migration %d: %w", component, i+1, err)
		}
		if _, err := tx.ExecContext(ctx, d.Q(`INSERT INTO schema_versions (component, version) VALUES (?, ?)
			ON CONFLICT (component) DO UPDATE SET version = excluded.version`), component, i+1); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}

// IsUniqueViolation reports whether err is a write refused by a unique
// or primary key constraint, in either dialect.
func IsUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505" // unique_violation
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}
