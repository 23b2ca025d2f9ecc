package auth

import (
	"errors"
	"testing"
	"time"

	"github.com/switchyard-router/switchyard/statedb"
	"github.com/switchyard-router/switchyard/statedb/statedbtest"
)

// TestStore: keys created in one store are accepted by a Live reading the
// same database through another (two replicas on one PostgreSQL, or a
// server and `switchyard keys` on one SQLite file), with their limits and
// budgets; a revoked key is refused on the next refresh; names are unique
// and secrets never stored.
func TestStore(t *testing.T) {
	statedbtest.Each(t, func(t *testing.T, db *statedb.DB) {
		ctx := t.Context()
		a, err := NewStore(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		b, err := NewStore(ctx, db) // a second replica: migrations apply once
		if err != nil {
			t.Fatal(err)
		}
		live, err := NewLive(ctx, nil, b)
		if err != nil {
			t.Fatal(err)
		}
		exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
		secret, err := a.Create(ctx, Key{Name: "team-a", Models: []string{"code"}, RequestsPerMinute: 7, TokensPerDay: 9000,
			BudgetDay: 1.5, BudgetMonth: 20, Expires: exp})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Create(ctx, Key{Name: "negative", TokensPerDay: -1}); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("a key with a negative limit: %v, want ErrInvalidKey", err)
		}
		if _, err := a.Create(ctx, Key{Name: "team-a"}); !errors.Is(err, ErrKeyExists) {
			t.Errorf("a second key named team-a: %v, want ErrKeyExists", err)
		}
		if _, err := live.Ring().Check(secret, time.Now()); err == nil {
			t.Error("the key was accepted before the refresh that reads it")
		}
		if err := live.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		k, err := live.Ring().Check(secret, time.Now())
		if err != nil {
			t.Fatalf("after refresh: %v", err)
		}
		if k.RequestsPerMinute != 7 || k.TokensPerDay != 9000 || k.BudgetDay != 1.5 || k.BudgetMonth != 20 ||
			!k.Expires.Equal(exp) || !k.Allows("code") || k.Allows("chat") {
			t.Errorf("stored key %+v lost its limits", k)
		}
		var stored int
		if err := db.QueryRowContext(ctx, db.Q("SELECT COUNT(*) FROM client_keys WHERE hash = ? OR roles LIKE ?"), secret, "%"+secret+"%").Scan(&stored); err != nil || stored != 0 {
			t.Errorf("the secret is in the table (%d rows, %v)", stored, err)
		}
		infos, err := b.List(ctx)
		if err != nil || len(infos) != 1 || infos[0].Name != "team-a" || infos[0].BudgetMonth != 20 || infos[0].Revoked {
			t.Fatalf("list %+v (%v)", infos, err)
		}
		off, rpm, models := false, 9, []string{"chat"}
		if err := b.Update(ctx, "team-a", KeyChange{Enabled: &off, RequestsPerMinute: &rpm, Models: &models}); err != nil {
			t.Fatal(err)
		}
		if err := live.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := live.Ring().Check(secret, time.Now()); err == nil {
			t.Error("a disabled key is accepted")
		}
		on := true
		if err := a.Update(ctx, "team-a", KeyChange{Enabled: &on}); err != nil {
			t.Fatal(err)
		}
		live.Refresh(ctx)
		if k, err := live.Ring().Check(secret, time.Now()); err != nil || k.RequestsPerMinute != 9 || !k.Allows("chat") || k.Allows("code") || k.TokensPerDay != 9000 {
			t.Errorf("after the edits: %+v %v", k, err)
		}
		neg := -1
		if err := a.Update(ctx, "team-a", KeyChange{TokensPerMinute: &neg}); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("a negative limit: %v", err)
		}
		if err := b.Revoke(ctx, "team-a"); err != nil {
			t.Fatal(err)
		}
		if err := b.Revoke(ctx, "nobody"); !errors.Is(err, ErrNoSuchKey) {
			t.Errorf("revoking an unknown key: %v", err)
		}
		if err := live.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := live.Ring().Check(secret, time.Now()); err == nil {
			t.Error("a revoked key is still accepted")
		}
		if infos, _ := a.List(ctx); len(infos) != 1 || !infos[0].Revoked {
			t.Errorf("a revoked key lists as %+v", infos)
		}
		if err := a.Update(ctx, "team-a", KeyChange{Enabled: &on}); !errors.Is(err, ErrNoSuchKey) {
			t.Errorf("enabling a revoked key: %v, want ErrNoSuchKey", err)
		}
	})
}
