package router

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"github.com/switchyard-router/switchyard/classifier"
	"github.com/switchyard-router/switchyard/providers"
)

// BySticky is the DecidedBy of a routed request that kept its
// conversation's route (see Sessions).
const BySticky = "sticky"

// Defaults that zero SessionOptions fields stand for.
const (
	DefaultSessionTTL  = 30 * time.Minute
	DefaultMaxSessions = 10000
)

// SessionOptions tunes Sessions. Zero values are the documented defaults.
type SessionOptions struct {
	// TTL is how long a conversation's route is remembered after its last
	// request. 0 means DefaultSessionTTL.
	TTL time.Duration
	// Max bounds the conversations remembered; the least recently used
	// is forgotten first. 0 means DefaultMaxSessions.
	Max int
	// Now is the clock; nil means time.Now. Tests set it.
	Now func() time.Time
	// Shared, if set, keeps the routes where every replica finds them
	// (package shared); this process's own memory answers while it is
	// unreachable.
	Shared SharedStore
}

// SharedStore is a key-value store the replicas share, with expiry.
type SharedStore interface {
	Get(ctx context.Context, key string) (string, bool)
	Set(ctx context.Context, key, value string, ttl time.Duration)
}

// Sessions remembers the route each conversation took, for sticky
// routing: a Router given Sessions keeps a conversation on its route
// unless a new turn clearly belongs elsewhere (see Options.StickyMargin).
//
// A conversation is known by its session key (see sessionKeys): the
// X-Switchyard-Session header's value (providers.Request.Session) if the
// client sent one, otherwise a hash of its system and user turns.
//
// Sessions is the one mutable part of routing, so it is safe for
// concurrent use; it is kept apart from the immutable Router so that it
// could outlive one.
type Sessions struct {
	ttl    time.Duration
	max    int
	now    func() time.Time
	shared SharedStore

	mu sync.Mutex
	ll *list.List               // of *session, most recently used first
	m  map[string]*list.Element // key → its element in ll
}

type session struct {
	key   string
	route string
	seen  time.Time // last remembered or looked up
}

// NewSessions returns an empty Sessions.
func NewSessions(opts SessionOptions) *Sessions {
	s := &Sessions{ttl: opts.TTL, max: opts.Max, now: opts.Now, shared: opts.Shared, ll: list.New(), m: map[string]*list.Element{}}
	if s.ttl <= 0 {
		s.ttl = DefaultSessionTTL
	}
	if s.max <= 0 {
		s.max = DefaultMaxSessions
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// Len reports how many conversations are remembered, expired ones
// included until they are next touched or evicted.
func (s *Sessions) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ll.Len()
}

// lookup is key's route: the shared store's when it has one, else this
// process's.
func (s *Sessions) lookup(ctx context.Context, key string) (string, bool) {
	if s.shared != nil {
		if route, ok := s.shared.Get(ctx, "session:"+key); ok {
			s.remember(key, route)
			return route, true
		}
	}
	return s.route(key)
}

// store remembers key's route here and in the shared store.
func (s *Sessions) store(ctx context.Context, key, route string) {
	s.remember(key, route)
	if s.shared != nil {
		s.shared.Set(ctx, "session:"+key, route, s.ttl)
	}
}

// route returns key's route if it was remembered within the TTL, and
// counts the lookup as use.
func (s *Sessions) route(key string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[key]
	if !ok {
		return "", false
	}
	ss := e.Value.(*session)
	now := s.now()
	if now.Sub(ss.seen) >= s.ttl {
		s.ll.Remove(e)
		delete(s.m, key)
		return "", false
	}
	ss.seen = now
	s.ll.MoveToFront(e)
	return ss.route, true
}

// remember sets key's route, evicting what expired or overflows.
func (s *Sessions) remember(key, route string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if e, ok := s.m[key]; ok {
		ss := e.Value.(*session)
		ss.route, ss.seen = route, now
		s.ll.MoveToFront(e)
	} else {
		s.m[key] = s.ll.PushFront(&session{key: key, route: route, seen: now})
	}
	// The list is in order of use, so the expired are at its back.
	for e := s.ll.Back(); e != nil; e = s.ll.Back() {
		ss := e.Value.(*session)
		if s.ll.Len() <= s.max && now.Sub(ss.seen) < s.ttl {
			break
		}
		s.ll.Remove(e)
		delete(s.m, ss.key)
	}
}

// sessionKeys returns the key to look req's conversation up by and the key
// to remember its route under; lookup is "" when the conversation has none.
//
// With a session header both are the header's value. Without one, lookup
// hashes the conversation's system, developer and user messages before its
// last user turn, and next hashes them through that turn. Assistant and
// tool messages are left out on purpose: the answer to this request is
// part of the next request's history, but the router never sees it, so a
// key that included it could not be computed now. The next request's
// lookup then equals this request's next. A first turn has nothing before
// it, so without the header it has no lookup key.
func sessionKeys(req *providers.Request) (lookup, next string) {
	if req.Session != "" {
		k := "header:" + hashOf([]string{req.Session})
		return k, k
	}
	last := -1
	for i, m := range req.Messages {
		if m.Role == "user" {
			last = i
		}
	}
	if last < 0 {
		return "", ""
	}
	var before []string
	users := 0
	for _, m := range req.Messages[:last] {
		switch m.Role {
		case "user":
			users++
			fallthrough
		case "system", "developer":
			before = append(before, m.Role, m.Text())
		}
	}
	through := append(before[:len(before):len(before)], "user", req.Messages[last].Text())
	next = "turns:" + hashOf(through)
	if users > 0 {
		lookup = "turns:" + hashOf(before)
	}
	return lookup, next
}

// hashOf is the hex SHA-256 of parts, each length-prefixed so that no two
// lists of parts hash alike by concatenating alike.
func hashOf(parts []string) string {
	h := sha256.New()
	var n [8]byte
	for _, p := range parts {
		l := uint64(len(p))
		for i := range n {
			n[i] = byte(l >> (8 * i))
		}
		h.Write(n[:])
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// shortKey is a session key cut for display: its kind and 12 hex digits.
func shortKey(key string) string {
	for i := range key {
		if key[i] == ':' && len(key) >= i+13 {
			return key[:i+13]
		}
	}
	return key
}

// stick applies the conversation's session to d, a routed decision, and
// remembers the route taken. The rules, in order:
//
//   - A conversation whose session is unknown, expired, or names a route
//     that no longer exists keeps d.
//   - d on the session's route stays as it is.
//   - d on the default route because no route won (ByDefault) keeps the
//     session's route instead: nothing claimed the new turn.
//   - d on another route (it won on the embedding) takes the conversation
//     over only if its score beats the session route's by more than the
//     sticky margin; otherwise the session's route is kept.
//
// Every decision of a conversation with a session is remembered, and so is
// a route won on the embedding; a default decision never starts a session.
func (r *Router) stick(ctx context.Context, req *providers.Request, d Decision) Decision {
	lookup, next := sessionKeys(req)
	var held string
	if lookup != "" {
		d.Session = shortKey(lookup)
		if route, ok := r.sessions.lookup(ctx, lookup); ok {
			if _, exists := r.routes[route]; exists {
				held = route
			}
		}
	}
	switch {
	case held == "" || d.Route == held:
	case d.DecidedBy == ByDefault:
		d = r.keep(d, held, "no new route won, the conversation keeps its route; "+d.Fallback)
	default:
		lead := heldScore(d.Match, d.Route) - heldScore(d.Match, held)
		if lead <= r.sticky {
			d = r.keep(d, held, fmt.Sprintf("best route %q leads the conversation's route %q by %.3f, not over the sticky margin %.3f", d.Route, held, lead, r.sticky))
		}
	}
	if next != "" && (held != "" || d.DecidedBy != ByDefault) {
		r.sessions.store(ctx, next, d.Route)
	}
	return d
}

// keep turns d into a BySticky decision for route.
func (r *Router) keep(d Decision, route, why string) Decision {
	d.Route, d.DecidedBy, d.Chain, d.Fallback = route, BySticky, r.routes[route], why
	d.Score = heldScore(d.Match, route)
	return d
}

func heldScore(m *classifier.Match, route string) float64 {
	if m == nil {
		return 0
	}
	return scoreOf(m, route)
}
