package auth

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchyard-router/switchyard/statedb"
)

// Store keeps the keys created at run time (`switchyard keys create`,
// POST /admin/keys) in the state database (package statedb: the usage
// store's SQLite file by default, or the PostgreSQL database replicas
// share). Only hashes are stored. It is safe for concurrent use.
type Store struct {
	db *statedb.DB
}

// migrations are the keys table's schema versions (statedb.Migrate).
// Never edit one that has shipped: add the next. Columns are only ever
// added, with defaults, so older rows stay readable.
var migrations = []statedb.Migration{
	{ // 1; IF NOT EXISTS: files from before schema_versions have the table
		SQLite: `CREATE TABLE IF NOT EXISTS client_keys (
			name TEXT PRIMARY KEY,
			hash TEXT NOT NULL UNIQUE,
			roles TEXT NOT NULL,          -- JSON array
			enabled INTEGER NOT NULL,
			expires INTEGER NOT NULL,     -- unix seconds; 0 = never
			models TEXT NOT NULL,         -- JSON array
			rpm INTEGER NOT NULL, tpm INTEGER NOT NULL, rpd INTEGER NOT NULL, tpd INTEGER NOT NULL,
			created INTEGER NOT NULL,
			revoked INTEGER NOT NULL DEFAULT 0
		)`,
		Postgres: `CREATE TABLE IF NOT EXISTS client_keys (
			name TEXT PRIMARY KEY,
			hash TEXT NOT NULL UNIQUE,
			roles TEXT NOT NULL,
			enabled INTEGER NOT NULL,
			expires BIGINT NOT NULL,
			models TEXT NOT NULL,
			rpm BIGINT NOT NULL, tpm BIGINT NOT NULL, rpd BIGINT NOT NULL, tpd BIGINT NOT NULL,
			created BIGINT NOT NULL,
			revoked INTEGER NOT NULL DEFAULT 0
		)`,
	},
	{ // 2: spend budgets, USD per UTC day and month; 0 = none
		SQLite: `ALTER TABLE client_keys ADD COLUMN budget_day REAL NOT NULL DEFAULT 0;
			ALTER TABLE client_keys ADD COLUMN budget_month REAL NOT NULL DEFAULT 0`,
		Postgres: `ALTER TABLE client_keys ADD COLUMN budget_day DOUBLE PRECISION NOT NULL DEFAULT 0;
			ALTER TABLE client_keys ADD COLUMN budget_month DOUBLE PRECISION NOT NULL DEFAULT 0`,
	},
}

// NewStore returns the key store in db, bringing its table up to date.
func NewStore(ctx context.Context, db *statedb.DB) (*Store, error) {
	if err := db.Migrate(ctx, "keys", migrations, nil); err != nil {
		return nil, fmt.Errorf("key store: %w", err)
	}
	return &Store{db: db}, nil
}

// ErrKeyExists and ErrNoSuchKey report a name already taken, or unknown;
// ErrInvalidKey, a key Create refuses as given.
var (
	ErrKeyExists  = errors.New("a key of that name exists")
	ErrNoSuchKey  = errors.New("no such key")
	ErrInvalidKey = errors.New("invalid key")
)

// NewSecret returns a fresh key: "sk-sy-" and 48 hex digits (192 bits).
func NewSecret() string {
	b := make([]byte, 24)
	rand.Read(b)
	return "sk-sy-" + hex.EncodeToString(b)
}

// Create stores k under a new secret and returns the secret, which is
// never stored or shown again.
func (s *Store) Create(ctx context.Context, k Key) (string, error) {
	if k.Name == "" {
		return "", fmt.Errorf("%w: a key needs a name", ErrInvalidKey)
	}
	if len(k.Roles) == 0 {
		k.Roles = []string{RoleUser}
	}
	for _, r := range k.Roles {
		if r != RoleAdmin && r != RoleUser {
			return "", fmt.Errorf("%w: unknown role %q (want admin or user)", ErrInvalidKey, r)
		}
	}
	if k.RequestsPerMinute < 0 || k.TokensPerMinute < 0 || k.RequestsPerDay < 0 || k.TokensPerDay < 0 || k.BudgetDay < 0 || k.BudgetMonth < 0 {
		return "", fmt.Errorf("%w: limits and budgets must not be negative (0 = none)", ErrInvalidKey)
	}
	secret := NewSecret()
	h := Hash(secret)
	roles, _ := json.Marshal(k.Roles)
	models, _ := json.Marshal(nonNil(k.Models))
	var exp int64
	if !k.Expires.IsZero() {
		exp = k.Expires.Unix()
	}
	_, err := s.db.ExecContext(ctx, s.db.Q(`INSERT INTO client_keys (name, hash, roles, enabled, expires, models, rpm, tpm, rpd, tpd,
		budget_day, budget_month, created) VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?)`), k.Name, hex.EncodeToString(h[:]), string(roles),
		exp, string(models), k.RequestsPerMinute, k.TokensPerMinute, k.RequestsPerDay, k.TokensPerDay, k.BudgetDay, k.BudgetMonth,
		time.Now().Unix())
	if err != nil {
		if statedb.IsUniqueViolation(err) {
			return "", ErrKeyExists
		}
		return "", err
	}
	return secret, nil
}

// Revoke turns the key off for good (it stays listed, revoked).
func (s *Store) Revoke(ctx context.Context, name string) error {
	res, err := s.db.ExecContext(ctx, s.db.Q("UPDATE client_keys SET revoked = 1, enabled = 0 WHERE name = ?"), name)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNoSuchKey
	}
	return nil
}

// KeyChange is an edit of a stored key: the fields that are set change.
type KeyChange struct {
	Enabled           *bool     `json:"enabled,omitempty"`
	Models            *[]string `json:"models,omitempty"`
	RequestsPerMinute *int      `json:"requests_per_minute,omitempty"`
	TokensPerMinute   *int      `json:"tokens_per_minute,omitempty"`
	RequestsPerDay    *int      `json:"requests_per_day,omitempty"`
	TokensPerDay      *int      `json:"tokens_per_day,omitempty"`
	BudgetDay         *float64  `json:"budget_day,omitempty"`
	BudgetMonth       *float64  `json:"budget_month,omitempty"`
}

// Update applies c to the stored key name. A revoked key stays revoked;
// limits must not be negative.
func (s *Store) Update(ctx context.Context, name string, c KeyChange) error {
	var sets []string
	var args []any
	for _, n := range []struct {
		col string
		v   *int
	}{{"rpm", c.RequestsPerMinute}, {"tpm", c.TokensPerMinute}, {"rpd", c.RequestsPerDay}, {"tpd", c.TokensPerDay}} {
		if n.v != nil {
			if *n.v < 0 {
				return fmt.Errorf("%w: %s must not be negative", ErrInvalidKey, n.col)
			}
			sets, args = append(sets, n.col+" = ?"), append(args, *n.v)
		}
	}
	for _, n := range []struct {
		col string
		v   *float64
	}{{"budget_day", c.BudgetDay}, {"budget_month", c.BudgetMonth}} {
		if n.v != nil {
			if *n.v < 0 {
				return fmt.Errorf("%w: %s must not be negative", ErrInvalidKey, n.col)
			}
			sets, args = append(sets, n.col+" = ?"), append(args, *n.v)
		}
	}
	if c.Models != nil {
		m, _ := json.Marshal(nonNil(*c.Models))
		sets, args = append(sets, "models = ?"), append(args, string(m))
	}
	if c.Enabled != nil {
		on := 0
		if *c.Enabled {
			on = 1
		}
		sets, args = append(sets, "enabled = ?"), append(args, on)
	}
	if len(sets) == 0 {
		return fmt.Errorf("%w: nothing to change", ErrInvalidKey)
	}
	args = append(args, name)
	res, err := s.db.ExecContext(ctx, s.db.Q("UPDATE client_keys SET "+strings.Join(sets, ", ")+" WHERE name = ? AND revoked = 0"), args...)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNoSuchKey
	}
	return nil
}

// KeyInfo is a stored key as listed: never its secret or hash.
type KeyInfo struct {
	Name              string    `json:"name"`
	Roles             []string  `json:"roles"`
	Enabled           bool      `json:"enabled"`
	Revoked           bool      `json:"revoked"`
	Expires           time.Time `json:"expires,omitzero"`
	Models            []string  `json:"models"`
	RequestsPerMinute int       `json:"requests_per_minute"`
	TokensPerMinute   int       `json:"tokens_per_minute"`
	RequestsPerDay    int       `json:"requests_per_day"`
	TokensPerDay      int       `json:"tokens_per_day"`
	BudgetDay         float64   `json:"budget_day"`
	BudgetMonth       float64   `json:"budget_month"`
	Created           time.Time `json:"created"`
}

// List returns every stored key, by name.
func (s *Store) List(ctx context.Context) ([]KeyInfo, error) {
	keys, err := s.load(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]KeyInfo, 0, len(keys))
	for _, k := range keys {
		out = append(out, k.info)
	}
	return out, nil
}

// Keys returns the stored keys that are not revoked, ready for a Keyring.
func (s *Store) Keys(ctx context.Context) ([]Key, error) {
	keys, err := s.load(ctx)
	if err != nil {
		return nil, err
	}
	var out []Key
	for _, k := range keys {
		if !k.info.Revoked {
			out = append(out, k.key)
		}
	}
	return out, nil
}

type storedKey struct {
	info KeyInfo
	key  Key
}

func (s *Store) load(ctx context.Context) ([]storedKey, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, hash, roles, enabled, expires, models, rpm, tpm, rpd, tpd, budget_day, budget_month,
		created, revoked FROM client_keys ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []storedKey
	for rows.Next() {
		var (
			i                   KeyInfo
			hash, roles, models string
			enabled, revoked    bool
			expires, created    int64
		)
		if err := rows.Scan(&i.Name, &hash, &roles, &enabled, &expires, &models, &i.RequestsPerMinute, &i.TokensPerMinute,
			&i.RequestsPerDay, &i.TokensPerDay, &i.BudgetDay, &i.BudgetMonth, &created, &revoked); err != nil {
			return nil, err
		}
		json.Unmarshal([]byte(roles), &i.Roles)
		json.Unmarshal([]byte(models), &i.Models)
		i.Enabled, i.Revoked, i.Created = enabled, revoked, time.Unix(created, 0).UTC()
		if expires != 0 {
			i.Expires = time.Unix(expires, 0).UTC()
		}
		h, err := ParseHash(hash)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", i.Name, err)
		}
		k := Key{Name: i.Name, Roles: i.Roles, Enabled: enabled && !revoked, Expires: i.Expires, Models: i.Models,
			RequestsPerMinute: i.RequestsPerMinute, TokensPerMinute: i.TokensPerMinute,
			RequestsPerDay: i.RequestsPerDay, TokensPerDay: i.TokensPerDay, BudgetDay: i.BudgetDay, BudgetMonth: i.BudgetMonth}.WithHash(h)
		out = append(out, storedKey{info: i, key: k})
	}
	return out, rows.Err()
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Live is the set of keys in force: the config's and the store's,
// refreshed from the store periodically and after every change made
// through it. It is safe for concurrent use.
type Live struct {
	store *Store // nil: config keys only
	mu    sync.Mutex
	cfg   []Key
	ring  atomic.Pointer[Keyring]
}

// NewLive returns the keys of the config (cfg) and of store (may be nil).
func NewLive(ctx context.Context, cfg []Key, store *Store) (*Live, error) {
	l := &Live{store: store, cfg: cfg}
	if err := l.Refresh(ctx); err != nil {
		return nil, err
	}
	return l, nil
}

// Ring is the keyring in force; never nil.
func (l *Live) Ring() *Keyring { return l.ring.Load() }

// SetConfig replaces the config's keys (after a reload) and rebuilds the
// ring.
func (l *Live) SetConfig(ctx context.Context, cfg []Key) error {
	l.mu.Lock()
	old := l.cfg
	l.cfg = cfg
	l.mu.Unlock()
	if err := l.Refresh(ctx); err != nil {
		l.mu.Lock()
		l.cfg = old
		l.mu.Unlock()
		return err
	}
	return nil
}

// Refresh reads the store's keys and rebuilds the ring; on error the ring
// in force stays.
func (l *Live) Refresh(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	keys := slices.Clone(l.cfg)
	if l.store != nil {
		stored, err := l.store.Keys(ctx)
		if err != nil {
			return err
		}
		for _, k := range stored {
			if slices.ContainsFunc(keys, func(c Key) bool { return c.Name == k.Name }) {
				continue // the config's key of that name wins
			}
			keys = append(keys, k)
		}
	}
	r, err := NewKeyring(keys)
	if err != nil {
		return err
	}
	l.ring.Store(r)
	return nil
}

// Store is the run-time key store; nil when there is none.
func (l *Live) Store() *Store { return l.store }
