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
	"runtime"
	"strings"
	"time"

	"github.com/switchyard-router/switchyard/statedb"
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

// migrations are the schema's versions, applied in order by
// statedb.Migrate. Never edit one that has shipped: add the next.
var migrations = []statedb.Migration{
	{ // 1
		SQLite: `CREATE TABLE requests (
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
		Postgres: `CREATE TABLE requests (
			id BIGSERIAL PRIMARY KEY,
			ts BIGINT NOT NULL,
			request_id TEXT NOT NULL,
			key TEXT NOT NULL,
			dialect TEXT NOT NULL,
			route TEXT NOT NULL,
			decided_by TEXT NOT NULL,
			score DOUBLE PRECISION NOT NULL,
			provider TEXT NOT NULL,
			model TEXT NOT NULL,
			attempts INTEGER NOT NULL,
			status INTEGER NOT NULL,
			stream INTEGER NOT NULL,
			prompt_tokens BIGINT NOT NULL,
			completion_tokens BIGINT NOT NULL,
			cached_tokens BIGINT NOT NULL,
			reasoning_tokens BIGINT NOT NULL,
			latency_ms DOUBLE PRECISION NOT NULL,
			ttft_ms DOUBLE PRECISION NOT NULL,
			cost DOUBLE PRECISION NOT NULL
		);
		CREATE INDEX requests_ts ON requests(ts);
		CREATE INDEX requests_key_ts ON requests(key, ts);`,
	},
	{ // 2: no query reads by key alone, and every index costs each insert
		SQLite:   `DROP INDEX IF EXISTS requests_key_ts`,
		Postgres: `DROP INDEX IF EXISTS requests_key_ts`,
	},
}

// Store is the usage store in a state database (statedb): one SQLite
// file, or a PostgreSQL database several replicas share. It is safe for
// concurrent use.
type Store struct {
	db *statedb.DB

	stmts [len(insertSizes)]*sql.Stmt // the INSERT of each of insertSizes
}

// Open brings the usage schema of db up to date and returns the store in
// it. The store takes db over: Close closes it.
func Open(ctx context.Context, db *statedb.DB) (*Store, error) {
	// A SQLite file from before schema_versions kept the usage schema's
	// version in user_version.
	legacy := func(ctx context.Context, c *sql.Conn) (int, error) {
		if db.Dialect != statedb.SQLite {
			return 0, nil
		}
		var v int
		err := c.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v)
		return v, err
	}
	if err := db.Migrate(ctx, "usage", migrations, legacy); err != nil {
		return nil, fmt.Errorf("usage store %s: %w", db.Where, err)
	}
	s := &Store{db: db}
	// Prepared now, while no transaction holds SQLite's one connection;
	// a transaction uses them on its own connection (database/sql
	// prepares them there again when it is another).
	for i, n := range insertSizes {
		st, err := db.PrepareContext(ctx, insertQuery(db, n))
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("usage store %s: %w", db.Where, err)
		}
		s.stmts[i] = st
	}
	return s, nil
}

// OpenSQLite opens the store in the SQLite file at path, creating it if
// needed.
func OpenSQLite(ctx context.Context, path string) (*Store, error) {
	db, err := statedb.OpenSQLite(ctx, path)
	return openDB(ctx, db, err)
}

// OpenPostgresURL opens the store in the PostgreSQL database at url.
func OpenPostgresURL(ctx context.Context, url string) (*Store, error) {
	db, err := statedb.OpenPostgres(ctx, url)
	return openDB(ctx, db, err)
}

// openDB opens the store in db, just opened (with err), closing db if
// the store cannot be.
func openDB(ctx context.Context, db *statedb.DB, err error) (*Store, error) {
	if err != nil {
		return nil, fmt.Errorf("usage store: %w", err)
	}
	s, err := Open(ctx, db)
	if err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// insertColumns is a row's columns, in Insert's order.
const insertColumns = `ts, request_id, key, dialect, route, decided_by, score, provider, model, attempts, status, stream,
	prompt_tokens, completion_tokens, cached_tokens, reasoning_tokens, latency_ms, ttft_ms, cost`

const columnCount = 19

// insertSizes are the rows per INSERT statement, largest first: fewer
// statements, fewer round trips to PostgreSQL and less work per row in
// SQLite. A batch goes out in the largest that fit, each prepared once
// (a statement parsed per batch costs SQLite more than the rows it
// inserts).
var insertSizes = [...]int{50, 16, 4, 1}

// insertQuery is the INSERT of n rows in db's dialect.
func insertQuery(db *statedb.DB, n int) string {
	one := "(" + strings.Repeat("?, ", columnCount-1) + "?)"
	return db.Q("INSERT INTO requests (" + insertColumns + ") VALUES " + strings.Repeat(one+", ", n-1) + one)
}

// DB is the state database the store is in, for the other state kept
// beside the rows (the client keys created at run time, package auth).
func (s *Store) DB() *statedb.DB { return s.db }

// Close closes the database.
func (s *Store) Close() error {
	for _, st := range s.stmts {
		if st != nil {
			st.Close()
		}
	}
	return s.db.Close()
}

// Insert writes rows in one transaction.
func (s *Store) Insert(ctx context.Context, rows []Record) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	args := make([]any, 0, columnCount*insertSizes[0])
	for len(rows) > 0 {
		size := 0
		for size < len(insertSizes)-1 && insertSizes[size] > len(rows) {
			size++
		}
		n := insertSizes[size]
		args = args[:0]
		for _, r := range rows[:n] {
			stream := 0
			if r.Stream {
				stream = 1
			}
			args = append(args, r.Time.UnixMilli(), r.RequestID, r.Key, r.Dialect, r.Route, r.DecidedBy, r.Score,
				r.Provider, r.Model, r.Attempts, r.Status, stream, r.PromptTokens, r.CompletionTokens, r.CachedTokens,
				r.ReasoningTokens, ms(r.Latency), ms(r.TTFT), r.Cost)
		}
		if _, err := tx.StmtContext(ctx, s.stmts[size]).ExecContext(ctx, args...); err != nil {
			return err
		}
		rows = rows[n:]
		// SQLite runs on the serving goroutines' core without blocking:
		// let them in between statements, so that a flush never holds a
		// request for longer than one statement.
		runtime.Gosched()
	}
	return tx.Commit()
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Prune deletes the rows older than before and returns how many.
func (s *Store) Prune(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, s.db.Q("DELETE FROM requests WHERE ts < ?"), before.UnixMilli())
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// groupBy maps Summary's group-by names to their SQL; "day" differs by
// dialect (groupDay).
var groupBy = map[string]string{
	"key": "key", "model": "model", "route": "route", "provider": "provider", "decided_by": "decided_by",
	"dialect": "dialect", "status": "status", "day": "",
}

// groupDay is the UTC calendar day of a row, as YYYY-MM-DD.
var groupDay = map[statedb.Dialect]string{
	statedb.SQLite:   "strftime('%Y-%m-%d', ts / 1000, 'unixepoch')",
	statedb.Postgres: "to_char(to_timestamp(ts / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
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
func (s *Store) Summary(ctx context.Context, since time.Time, by string) ([]Group, error) {
	expr := "'all'"
	if by != "" {
		e, ok := groupBy[by]
		if !ok {
			return nil, ErrGroupBy
		}
		expr = e
		if by == "day" {
			expr = groupDay[s.db.Dialect]
		}
	}
	q := `SELECT CAST(` + expr + ` AS TEXT), COUNT(*), CAST(SUM(CASE WHEN status >= 400 THEN 1 ELSE 0 END) AS BIGINT),
		CAST(SUM(prompt_tokens) AS BIGINT), CAST(SUM(completion_tokens) AS BIGINT), CAST(SUM(cached_tokens) AS BIGINT),
		CAST(SUM(reasoning_tokens) AS BIGINT), SUM(cost), AVG(latency_ms)
		FROM requests WHERE ts >= ? GROUP BY 1 ORDER BY 2 DESC, 1`
	rows, err := s.db.QueryContext(ctx, s.db.Q(q), since.UnixMilli())
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

// Point is one group's sums on one UTC day (Series).
type Point struct {
	Day string `json:"day"` // YYYY-MM-DD
	Group
}

// Series sums the rows from since on per UTC day and group-by by (not
// "day"): the usage over time of each key, model, route, provider….
func (s *Store) Series(ctx context.Context, since time.Time, by string) ([]Point, error) {
	col, ok := groupBy[by]
	if !ok || by == "" || by == "day" {
		return nil, ErrGroupBy
	}
	day := groupDay[s.db.Dialect]
	q := `SELECT ` + day + `, CAST(` + col + ` AS TEXT), COUNT(*), CAST(SUM(CASE WHEN status >= 400 THEN 1 ELSE 0 END) AS BIGINT),
		CAST(SUM(prompt_tokens) AS BIGINT), CAST(SUM(completion_tokens) AS BIGINT), CAST(SUM(cached_tokens) AS BIGINT),
		CAST(SUM(reasoning_tokens) AS BIGINT), SUM(cost), AVG(latency_ms)
		FROM requests WHERE ts >= ? GROUP BY 1, 2 ORDER BY 1, 3 DESC, 2`
	rows, err := s.db.QueryContext(ctx, s.db.Q(q), since.UnixMilli())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Point
	for rows.Next() {
		var p Point
		if err := rows.Scan(&p.Day, &p.Name, &p.Requests, &p.Errors, &p.PromptTokens, &p.CompletionTokens, &p.CachedTokens,
			&p.ReasoningTokens, &p.Cost, &p.MeanLatencyMS); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// Rows returns up to limit rows from since on whose group-by column by
// (a Summary group-by) has the value name, newest first: what one bar of
// a Summary is made of.
func (s *Store) Rows(ctx context.Context, since time.Time, by, name string, limit int) ([]Record, error) {
	col, ok := groupBy[by]
	if !ok || by == "" {
		return nil, ErrGroupBy
	}
	if by == "day" {
		col = groupDay[s.db.Dialect]
	}
	q := `SELECT ts, request_id, key, dialect, route, decided_by, score, provider, model, attempts, status, stream,
		prompt_tokens, completion_tokens, cached_tokens, reasoning_tokens, latency_ms, ttft_ms, cost
		FROM requests WHERE ts >= ? AND CAST(` + col + ` AS TEXT) = ? ORDER BY ts DESC, id DESC LIMIT ?`
	rows, err := s.db.QueryContext(ctx, s.db.Q(q), since.UnixMilli(), name, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Record
	for rows.Next() {
		var (
			r               Record
			ts              int64
			stream          int
			latency, ttftMS float64
		)
		if err := rows.Scan(&ts, &r.RequestID, &r.Key, &r.Dialect, &r.Route, &r.DecidedBy, &r.Score, &r.Provider, &r.Model, &r.Attempts,
			&r.Status, &stream, &r.PromptTokens, &r.CompletionTokens, &r.CachedTokens, &r.ReasoningTokens, &latency, &ttftMS, &r.Cost); err != nil {
			return nil, err
		}
		r.Time, r.Stream = time.UnixMilli(ts).UTC(), stream != 0
		r.Latency, r.TTFT = time.Duration(latency*float64(time.Millisecond)), time.Duration(ttftMS*float64(time.Millisecond))
		out = append(out, r)
	}
	return out, rows.Err()
}

// Heatmap counts the requests from since on by weekday (0 = Sunday) and
// hour of day, in loc.
func (s *Store) Heatmap(ctx context.Context, since time.Time, loc *time.Location) ([7][24]int64, error) {
	var out [7][24]int64
	rows, err := s.db.QueryContext(ctx, s.db.Q("SELECT ts FROM requests WHERE ts >= ?"), since.UnixMilli())
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
func (s *Store) SpendByKey(ctx context.Context, since time.Time) (map[string]float64, error) {
	rows, err := s.db.QueryContext(ctx, s.db.Q("SELECT key, SUM(cost) FROM requests WHERE ts >= ? AND key != '' GROUP BY key"), since.UnixMilli())
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
func (s *Store) Count(ctx context.Context, since time.Time) (int64, error) {
	var n int64
	err := s.db.QueryRowContext(ctx, s.db.Q("SELECT COUNT(*) FROM requests WHERE ts >= ?"), since.UnixMilli()).Scan(&n)
	return n, err
}
