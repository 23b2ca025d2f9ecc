// Package usage owns the usage store: one row per request (who asked,
// how it was routed, which upstream answered, the tokens it reported,
// latency and cost), written asynchronously in batches so that a request
// never waits for the disk, and the queries behind `switchyard stats` and
// /admin/usage.
package usage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite" // the pure-Go SQLite driver, "sqlite"
)

// Record is one request's row.
type Record struct {
	Time      time.Time // when the request arrived
	RequestID string
	Key       string // the client key's name; "" when the API is open
	Dialect   string // the client's: openai or anthropic
	Route     string // "" for an explicit model
	DecidedBy string
	Score     float64
	Provider  string // that answered; "" when none did
	Model     string // the upstream model that answered
	Attempts  int
	Status    int // what the client got
	Stream    bool
	// Tokens, as the upstream reported them; 0 when it reported none.
	PromptTokens     int
	CompletionTokens int
	CachedTokens     int // prompt tokens read from the upstream's cache
	ReasoningTokens  int // completion tokens spent reasoning
	Latency          time.Duration
	TTFT             time.Duration // time to the first streamed content; 0 for a whole answer
	Cost             float64       // in USD, from the price table at write time
}

// migrations are the schema's versions, applied in order; a database
// records the last one it has (PRAGMA user_version). Never edit one that
// has shipped: add the next.
var migrations = []string{
	// 1
	`CREATE TABLE requests (
		id INTEGER PRIMARY KEY,
		ts INTEGER NOT NULL,            -- unix milliseconds
		request_id TEXT NOT NULL,
		key TEXT NOT NULL,
		dialect TEXT NOT NULL,
		route TEXT NOT NULL,
		decided_by TEXT NOT NULL,
		score REAL NOT NULL,
		provider TEXT NOT NULL,
		model TEXT NOT NULL,
		attempts INTEGER NOT NULL,
		status INTEGER NOT NULL,
		stream INTEGER NOT NULL,
		prompt_tokens INTEGER NOT NULL,
		completion_tokens INTEGER NOT NULL,
		cached_tokens INTEGER NOT NULL,
		reasoning_tokens INTEGER NOT NULL,
		latency_ms REAL NOT NULL,
		ttft_ms REAL NOT NULL,
		cost REAL NOT NULL
	);
	CREATE INDEX requests_ts ON requests(ts);
	CREATE INDEX requests_key_ts ON requests(key, ts);`,
}

// SQLite is the usage store in one SQLite file. It is safe for concurrent
// use.
type SQLite struct {
	db *sql.DB
}

// OpenSQLite opens (creating it and its directory if needed) the store at
// path and brings its schema up to date.
func OpenSQLite(ctx context.Context, path string) (*SQLite, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("usage store: %w", err)
	}
	// WAL lets readers (stats) run beside the writer; a busy timeout
	// rides over the moments another process holds the lock.
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_pragma=synchronous(NORMAL)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("usage store %s: %w", path, err)
	}
	db.SetMaxOpenConns(1) // SQLite has one writer; one connection keeps it simple
	s := &SQLite{db: db}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("usage store %s: %w", path, err)
	}
	return s, nil
}

func (s *SQLite) migrate(ctx context.Context) error {
	var v int
	if err := s.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return err
	}
	if v > len(migrations) {
		return fmt.Errorf("schema version %d is newer than this switchyard knows (%d)", v, len(migrations))
	}
	for i := v; i < len(migrations); i++ {
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", i+1)); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}

// DB is the database, for the other tables kept in the same file (the
// client keys created at run time, package auth).
func (s *SQLite) DB() *sql.DB { return s.db }

// Close closes the database.
func (s *SQLite) Close() error { return s.db.Close() }

// Insert writes rows in one transaction.
func (s *SQLite) Insert(ctx context.Context, rows []Record) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	st, err := tx.PrepareContext(ctx, `INSERT INTO requests (ts, request_id, key, dialect, route, decided_by, score,
		provider, model, attempts, status, stream, prompt_tokens, completion_tokens, cached_tokens, reasoning_tokens,
		latency_ms, ttft_ms, cost) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer st.Close()
	for _, r := range rows {
		if _, err := st.ExecContext(ctx, r.Time.UnixMilli(), r.RequestID, r.Key, r.Dialect, r.Route, r.DecidedBy, r.Score,
			r.Provider, r.Model, r.Attempts, r.Status, r.Stream, r.PromptTokens, r.CompletionTokens, r.CachedTokens,
			r.ReasoningTokens, ms(r.Latency), ms(r.TTFT), r.Cost); err != nil {
			return err
		}
	}
	return tx.Commit()
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Prune deletes the rows older than before and returns how many.
func (s *SQLite) Prune(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, "DELETE FROM requests WHERE ts < ?", before.UnixMilli())
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// groupBy maps Summary's group-by names to their SQL.
var groupBy = map[string]string{
	"key": "key", "model": "model", "route": "route", "provider": "provider", "decided_by": "decided_by",
	"dialect": "dialect", "status": "status", "day": "strftime('%Y-%m-%d', ts / 1000, 'unixepoch')",
}

// Group is one line of a Summary.
type Group struct {
	Name             string  `json:"name"`
	Requests         int64   `json:"requests"`
	Errors           int64   `json:"errors"` // status 400 and above
	PromptTokens     int64   `json:"prompt_tokens"`
	CompletionTokens int64   `json:"completion_tokens"`
	CachedTokens     int64   `json:"cached_tokens"`
	ReasoningTokens  int64   `json:"reasoning_tokens"`
	Cost             float64 `json:"cost"`
	MeanLatencyMS    float64 `json:"mean_latency_ms"`
}

// ErrGroupBy reports a group-by name Summary does not know.
var ErrGroupBy = errors.New("unknown group-by (want key, model, route, provider, decided_by, dialect, status or day)")

// Summary sums the rows from since on, grouped by by (a groupBy name, or
// "" for one total), largest request count first.
func (s *SQLite) Summary(ctx context.Context, since time.Time, by string) ([]Group, error) {
	expr := "'all'"
	if by != "" {
		e, ok := groupBy[by]
		if !ok {
			return nil, ErrGroupBy
		}
		expr = e
	}
	q := `SELECT CAST(` + expr + ` AS TEXT), COUNT(*), SUM(status >= 400), SUM(prompt_tokens), SUM(completion_tokens),
		SUM(cached_tokens), SUM(reasoning_tokens), SUM(cost), AVG(latency_ms)
		FROM requests WHERE ts >= ? GROUP BY 1 ORDER BY 2 DESC, 1`
	rows, err := s.db.QueryContext(ctx, q, since.UnixMilli())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Group
	for rows.Next() {
		var g Group
		if err := rows.Scan(&g.Name, &g.Requests, &g.Errors, &g.PromptTokens, &g.CompletionTokens, &g.CachedTokens,
			&g.ReasoningTokens, &g.Cost, &g.MeanLatencyMS); err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// Heatmap counts the requests from since on by weekday (0 = Sunday) and
// hour of day, in loc.
func (s *SQLite) Heatmap(ctx context.Context, since time.Time, loc *time.Location) ([7][24]int64, error) {
	var out [7][24]int64
	rows, err := s.db.QueryContext(ctx, "SELECT ts FROM requests WHERE ts >= ?", since.UnixMilli())
	if err != nil {
		return out, err
	}
	defer rows.Close()
	for rows.Next() {
		var ts int64
		if err := rows.Scan(&ts); err != nil {
			return out, err
		}
		t := time.UnixMilli(ts).In(loc)
		out[t.Weekday()][t.Hour()]++
	}
	return out, rows.Err()
}

// SpendByKey sums each key's cost from since on.
func (s *SQLite) SpendByKey(ctx context.Context, since time.Time) (map[string]float64, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT key, SUM(cost) FROM requests WHERE ts >= ? AND key != '' GROUP BY key", since.UnixMilli())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]float64{}
	for rows.Next() {
		var k string
		var v float64
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, rows.Err()
}

// Count is the number of rows from since on, for tests and checks.
func (s *SQLite) Count(ctx context.Context, since time.Time) (int64, error) {
	var n int64
	err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM requests WHERE ts >= ?", since.UnixMilli()).Scan(&n)
	return n, err
}

// DefaultPath is where the store lives when the config names none:
// $XDG_DATA_HOME/switchyard/usage.db, or ~/.local/share/switchyard/usage.db.
func DefaultPath(getenv func(string) string) (string, error) {
	if d := getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "switchyard", "usage.db"), nil
	}
	home := getenv("HOME")
	if home == "" {
		return "", errors.New("usage store: neither XDG_DATA_HOME nor HOME is set; set usage.path")
	}
	return filepath.Join(home, ".local", "share", "switchyard", "usage.db"), nil
}
