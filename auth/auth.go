// Package auth owns client API keys: who a request's key belongs to, what
// it may ask for, and the per-key request and token limits, checked
// before an upstream call with a reservation that is settled with the
// real usage after it.
package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Roles a key may have.
const (
	RoleAdmin = "admin" // the /admin endpoints, besides the API
	RoleUser  = "user"  // the API
)

// Key is one client key as the gateway knows it: never the secret, only
// its SHA-256.
type Key struct {
	Name    string
	Roles   []string
	Enabled bool
	// Expires is when the key stops working; zero = never.
	Expires time.Time
	// Models lists the models, routes and aliases the key may ask for
	// ("auto" is a model too: a key without it cannot be routed); empty =
	// any.
	Models []string
	// Limits; 0 = none.
	RequestsPerMinute int
	TokensPerMinute   int
	RequestsPerDay    int
	TokensPerDay      int
	// Budgets, in USD, per calendar day and month (UTC) of the cost the
	// usage rows record; 0 = none. A request is refused once the spend has
	// reached the budget: the one that crosses it runs to its end.
	BudgetDay   float64
	BudgetMonth float64

	hash [sha256.Size]byte
}

// HasRole reports whether k has role.
func (k *Key) HasRole(role string) bool { return slices.Contains(k.Roles, role) }

// Allows reports whether k may ask for model (a model, route or alias
// name as the client wrote it).
func (k *Key) Allows(model string) bool {
	return len(k.Models) == 0 || slices.Contains(k.Models, model)
}

// Hash is the SHA-256 of a secret, as keys are stored.
func Hash(secret string) [sha256.Size]byte { return sha256.Sum256([]byte(secret)) }

// ParseHash reads a SHA-256 written as 64 hex digits.
func ParseHash(s string) ([sha256.Size]byte, error) {
	var h [sha256.Size]byte
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil || len(b) != sha256.Size {
		return h, errors.New("want a SHA-256 as 64 hex digits")
	}
	copy(h[:], b)
	return h, nil
}

// WithHash returns k with its secret's hash set.
func (k Key) WithHash(h [sha256.Size]byte) Key {
	k.hash = h
	return k
}

// Errors of Keyring.Check, each with its HTTP status (Status).
var (
	ErrNoKey      = errors.New("an API key is required: send it as Authorization: Bearer <key> or x-api-key")
	ErrUnknownKey = errors.New("invalid API key")
	ErrExpired    = errors.New("API key expired")
	ErrDisabled   = errors.New("API key disabled")
)

// Keyring is the set of keys one configuration accepts. It is immutable
// after NewKeyring and safe for concurrent use.
type Keyring struct {
	keys []Key
}

// NewKeyring returns a keyring of keys; two keys with one secret are an
// error.
func NewKeyring(keys []Key) (*Keyring, error) {
	seen := map[[sha256.Size]byte]string{}
	for _, k := range keys {
		if other, ok := seen[k.hash]; ok {
			return nil, fmt.Errorf("api keys %q and %q have the same secret", other, k.Name)
		}
		seen[k.hash] = k.Name
	}
	return &Keyring{keys: slices.Clone(keys)}, nil
}

// HasRole reports whether any usable key has role.
func (r *Keyring) HasRole(role string) bool {
	for i := range r.keys {
		if r.keys[i].Enabled && r.keys[i].HasRole(role) {
			return true
		}
	}
	return false
}

// Len is how many keys the ring has.
func (r *Keyring) Len() int { return len(r.keys) }

// Check returns the key whose secret is secret, if it may be used at now.
// Every key's hash is compared, in constant time, so the time taken says
// nothing of which keys exist.
func (r *Keyring) Check(secret string, now time.Time) (*Key, error) {
	if secret == "" {
		return nil, ErrNoKey
	}
	h := Hash(secret)
	var found *Key
	for i := range r.keys {
		if subtle.ConstantTimeCompare(h[:], r.keys[i].hash[:]) == 1 {
			found = &r.keys[i]
		}
	}
	switch {
	case found == nil:
		return nil, ErrUnknownKey
	case !found.Enabled:
		return nil, ErrDisabled
	case !found.Expires.IsZero() && !now.Before(found.Expires):
		return nil, ErrExpired
	}
	return found, nil
}

// FromRequest returns the key a request carries: "Authorization: Bearer
// K", "x-api-key: K" (Anthropic's SDKs), or a bare "Authorization: sk-…"
// (ModelSwitch's clients); "" when none.
func FromRequest(r *http.Request) string {
	if k := strings.TrimSpace(r.Header.Get("X-Api-Key")); k != "" {
		return k
	}
	v := strings.TrimSpace(r.Header.Get("Authorization"))
	if scheme, rest, ok := strings.Cut(v, " "); ok && strings.EqualFold(scheme, "Bearer") {
		return strings.TrimSpace(rest)
	}
	if strings.HasPrefix(v, "sk-") && !strings.ContainsAny(v, " \t") {
		return v
	}
	return ""
}

// Status is the HTTP status of an error from this package: 401 for a
// missing, unknown, disabled or expired key, 429 for a limit, 0 for any
// other error.
func Status(err error) int {
	var le *LimitError
	switch {
	case errors.Is(err, ErrNoKey), errors.Is(err, ErrUnknownKey), errors.Is(err, ErrExpired), errors.Is(err, ErrDisabled):
		return http.StatusUnauthorized
	case errors.As(err, &le):
		return http.StatusTooManyRequests
	}
	return 0
}
