// Package shared is the state switchyard replicas share through Redis
// (or Valkey), with go-redis: key limits and budget spend, counted
// atomically by Lua scripts; sticky sessions; the judge's verdicts; and
// circuit-breaker openings, announced on a channel.
//
// Redis is never on the critical path for longer than a short bound
// (Options.Timeout). When it cannot be reached, Up turns false, every
// caller falls back to its process-local state, and a background ping
// turns Up true again once Redis answers.
package shared

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
)

// Options configure the connection.
type Options struct {
	URL string // redis://[user:password@]host:port/db, or rediss:// for TLS
	// Timeout bounds each call; past it the caller goes on with local
	// state. Default 100ms.
	Timeout time.Duration
	// Prefix starts every key and channel, so that several deployments
	// can share one Redis. Default "switchyard:".
	Prefix string
	// PingEvery is how often reachability is checked. Default 1s.
	PingEvery time.Duration
	Log       zerolog.Logger
}

// Store is the shared state. It is safe for concurrent use.
type Store struct {
	rdb     *redis.Client
	timeout time.Duration
	prefix  string
	log     zerolog.Logger
	up      atomic.Bool

	stop    context.CancelFunc
	wg      sync.WaitGroup
	subsMu  sync.Mutex
	subs    []*redis.PubSub
	closing atomic.Bool
}

// Open connects to o.URL. An unreachable Redis is not an error: the
// store starts down and comes up when Redis answers.
func Open(o Options) (*Store, error) {
	opt, err := redis.ParseURL(o.URL)
	if err != nil {
		return nil, fmt.Errorf("shared state: %w", err)
	}
	if o.Timeout <= 0 {
		o.Timeout = 100 * time.Millisecond
	}
	if o.Prefix == "" {
		o.Prefix = "switchyard:"
	}
	if o.PingEvery <= 0 {
		o.PingEvery = time.Second
	}
	opt.DialTimeout = max(o.Timeout, 200*time.Millisecond)
	opt.ReadTimeout, opt.WriteTimeout = o.Timeout, o.Timeout
	opt.PoolTimeout = o.Timeout
	opt.MaxRetries = -1 // the caller falls back at once; a retry would double the wait
	opt.ContextTimeoutEnabled = true
	s := &Store{rdb: redis.NewClient(opt), timeout: o.Timeout, prefix: o.Prefix, log: o.Log}
	ctx, cancel := context.WithCancel(context.Background())
	s.stop = cancel
	s.ping(ctx)
	s.wg.Go(func() {
		t := time.NewTicker(o.PingEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				s.ping(ctx)
			}
		}
	})
	return s, nil
}

// Up reports whether Redis answered the last call or ping.
func (s *Store) Up() bool { return s.up.Load() }

// Where is the server's address, for logs and status.
func (s *Store) Where() string { return s.rdb.Options().Addr }

func (s *Store) ping(ctx context.Context) {
	pctx, cancel := context.WithTimeout(ctx, max(s.timeout*5, 500*time.Millisecond))
	err := s.rdb.Ping(pctx).Err()
	cancel()
	if ctx.Err() != nil {
		return
	}
	s.setUp(err == nil, err)
}

func (s *Store) setUp(up bool, err error) {
	if s.up.Swap(up) == up {
		return
	}
	if up {
		s.log.Info().Str("redis", s.Where()).Msg("shared state up: limits, sessions, verdicts and circuits are shared again")
	} else {
		s.log.Warn().Err(err).Str("redis", s.Where()).Msg("shared state down: this replica serves on its own state until Redis answers")
	}
}

// failed records the outcome of a call: an error that is not Redis's
// answer (a timeout, a refused connection) marks the store down.
func (s *Store) failed(err error) error {
	if err == nil || errors.Is(err, redis.Nil) {
		return err
	}
	var re redis.Error
	if errors.As(err, &re) {
		return err // Redis answered, with an error
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, redis.ErrClosed) || errors.Is(err, redis.ErrPoolTimeout) {
		s.setUp(false, err)
	}
	return err
}

// call bounds ctx for one call.
func (s *Store) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.timeout)
}

// Close stops the pings and subscriptions and closes the connections.
func (s *Store) Close() error {
	s.closing.Store(true)
	s.stop()
	s.subsMu.Lock()
	for _, p := range s.subs {
		p.Close()
	}
	s.subsMu.Unlock()
	s.wg.Wait()
	return s.rdb.Close()
}

// Get reads a shared value; ok is false when it is absent or Redis is
// down.
func (s *Store) Get(ctx context.Context, key string) (string, bool) {
	if !s.Up() {
		return "", false
	}
	ctx, cancel := s.call(ctx)
	defer cancel()
	v, err := s.rdb.Get(ctx, s.prefix+key).Result()
	if s.failed(err) != nil {
		return "", false
	}
	return v, true
}

// Set writes a shared value that expires after ttl; it does nothing while
// Redis is down.
func (s *Store) Set(ctx context.Context, key, value string, ttl time.Duration) {
	if !s.Up() {
		return
	}
	ctx, cancel := s.call(ctx)
	defer cancel()
	s.failed(s.rdb.Set(ctx, s.prefix+key, value, ttl).Err())
}

// Publish sends msg on channel; it does nothing while Redis is down.
func (s *Store) Publish(ctx context.Context, channel, msg string) {
	if !s.Up() {
		return
	}
	ctx, cancel := s.call(ctx)
	defer cancel()
	s.failed(s.rdb.Publish(ctx, s.prefix+channel, msg).Err())
}

// Subscribe calls f with every message published on channel, from this
// replica and the others, until Close; it resubscribes after Redis comes
// back.
func (s *Store) Subscribe(channel string, f func(msg string)) {
	p := s.rdb.Subscribe(context.Background(), s.prefix+channel)
	s.subsMu.Lock()
	s.subs = append(s.subs, p)
	s.subsMu.Unlock()
	s.wg.Go(func() {
		for {
			m, err := p.ReceiveMessage(context.Background())
			if err != nil {
				if s.closing.Load() {
					return
				}
				time.Sleep(100 * time.Millisecond) // go-redis reconnects on the next receive
				continue
			}
			f(m.Payload)
		}
	})
}
