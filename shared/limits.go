package shared

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchyard-router/switchyard/auth"
)

// Limits are the key limits and spend, counted in Redis by every replica
// at once. They implement auth.SharedCounters with the same sliding
// windows as the local counters (two fixed windows, the previous one
// weighted by its overlap), each fixed window one Redis key that expires
// after two spans, and the spend per UTC day and month.
type Limits struct{ s *Store }

// Limits returns the shared key limits of s.
func (s *Store) Limits() *Limits { return &Limits{s: s} }

var _ auth.SharedCounters = (*Limits)(nil)

// Up reports whether Redis is reachable.
func (l *Limits) Up() bool { return l.s.Up() }

// the four windows, in the script's order
var windows = []struct {
	tag  string
	span time.Duration
	name string
}{
	{"rm", time.Minute, "requests per minute"},
	{"rd", 24 * time.Hour, "requests per day"},
	{"tm", time.Minute, "tokens per minute"},
	{"td", 24 * time.Hour, "tokens per day"},
}

// reserveScript checks every window and budget, and counts the request
// in all of them only when all have room.
//
// KEYS: cur and prev of each window (8), spend of the day, of the month.
// ARGV: for each window limit, amount, overlap of prev, ttl in seconds
// (16); the day's and the month's budget.
// Returns {0} when counted, {i, cur, prev} when window i (1-4) is full,
// {5} or {6} when the day's or the month's budget is spent.
var reserveScript = redis.NewScript(`
for i = 0, 3 do
  local limit = tonumber(ARGV[i*4+1])
  if limit > 0 then
    local cur = tonumber(redis.call('GET', KEYS[i*2+1]) or '0')
    local prev = tonumber(redis.call('GET', KEYS[i*2+2]) or '0')
    local used = cur + prev * tonumber(ARGV[i*4+3])
    if used > 0 and used + tonumber(ARGV[i*4+2]) > limit then
      return {i+1, tostring(cur), tostring(prev)}
    end
  end
end
local bd, bm = tonumber(ARGV[17]), tonumber(ARGV[18])
if bd > 0 and tonumber(redis.call('GET', KEYS[9]) or '0') >= bd then return {5} end
if bm > 0 and tonumber(redis.call('GET', KEYS[10]) or '0') >= bm then return {6} end
for i = 0, 3 do
  if tonumber(ARGV[i*4+1]) > 0 then
    redis.call('INCRBYFLOAT', KEYS[i*2+1], ARGV[i*4+2])
    redis.call('EXPIRE', KEYS[i*2+1], ARGV[i*4+4])
  end
end
return {0}
`)

// settleScript corrects the token windows that counted a reservation and
// adds its cost to the spend.
//
// KEYS: the minute and day token windows of the reservation's time, the
// spend of the day and of the month. ARGV: the token delta, the cost,
// the spend keys' ttl in seconds.
var settleScript = redis.NewScript(`
local d = tonumber(ARGV[1])
if d ~= 0 then
  for i = 1, 2 do
    if redis.call('EXISTS', KEYS[i]) == 1 then
      local v = tonumber(redis.call('INCRBYFLOAT', KEYS[i], d))
      if v < 0 then redis.call('SET', KEYS[i], '0', 'KEEPTTL') end
    end
  end
end
local c = tonumber(ARGV[2])
if c > 0 then
  for i = 3, 4 do
    redis.call('INCRBYFLOAT', KEYS[i], ARGV[2])
    redis.call('EXPIRE', KEYS[i], ARGV[3])
  end
end
return 0
`)

// windowKey is the counter of key's window tag starting at start. The
// key name in braces is a Redis Cluster hash tag: one key's counters
// live on one node, as the scripts need.
func (l *Limits) windowKey(key, tag string, start time.Time) string {
	return l.s.prefix + "lim:{" + key + "}:" + tag + ":" + strconv.FormatInt(start.Unix(), 10)
}

func (l *Limits) spendKeys(key string, now time.Time) (day, month string) {
	t := now.UTC()
	base := l.s.prefix + "lim:{" + key + "}:spend:"
	return base + t.Format("20060102"), base + t.Format("200601")
}

// spendTTL keeps a month's spend into the next month, and so the day's.
const spendTTL = 32 * 24 * 3600

// Reserve implements auth.SharedCounters.
func (l *Limits) Reserve(ctx context.Context, k *auth.Key, tokens int, now time.Time) error {
	limits := []int{k.RequestsPerMinute, k.RequestsPerDay, k.TokensPerMinute, k.TokensPerDay}
	amounts := []float64{1, 1, float64(tokens), float64(tokens)}
	keys := make([]string, 0, 10)
	args := make([]any, 0, 18)
	starts := make([]time.Time, len(windows))
	for i, w := range windows {
		start := now.Truncate(w.span)
		starts[i] = start
		keys = append(keys, l.windowKey(k.Name, w.tag, start), l.windowKey(k.Name, w.tag, start.Add(-w.span)))
		overlap := 1 - float64(now.Sub(start))/float64(w.span)
		args = append(args, limits[i], amounts[i], overlap, int(2*w.span/time.Second))
	}
	day, month := l.spendKeys(k.Name, now)
	keys = append(keys, day, month)
	args = append(args, k.BudgetDay, k.BudgetMonth)
	ctx, cancel := l.s.call(ctx)
	defer cancel()
	res, err := reserveScript.Run(ctx, l.s.rdb, keys, args...).Slice()
	if err = l.s.failed(err); err != nil {
		return err
	}
	code, _ := res[0].(int64)
	switch {
	case code == 0:
		return nil
	case code >= 1 && code <= 4:
		i := code - 1
		cur, _ := strconv.ParseFloat(fmt.Sprint(res[1]), 64)
		prev, _ := strconv.ParseFloat(fmt.Sprint(res[2]), 64)
		w := windows[i]
		return &auth.LimitError{Key: k.Name, Limit: w.name, Max: limits[i],
			Retry: auth.WindowRetry(w.span, starts[i], prev, cur, now, amounts[i], float64(limits[i]))}
	case code == 5:
		return &auth.LimitError{Key: k.Name, Limit: "USD per day", Budget: k.BudgetDay, Retry: now.UTC().Truncate(24 * time.Hour).Add(24 * time.Hour).Sub(now)}
	case code == 6:
		y, m, _ := now.UTC().Date()
		return &auth.LimitError{Key: k.Name, Limit: "USD per month", Budget: k.BudgetMonth, Retry: time.Date(y, m+1, 1, 0, 0, 0, 0, time.UTC).Sub(now)}
	}
	return fmt.Errorf("shared limits: unexpected answer %v", res)
}

// Settle implements auth.SharedCounters.
func (l *Limits) Settle(ctx context.Context, key string, at time.Time, delta int, cost float64) error {
	if delta == 0 && cost <= 0 {
		return nil
	}
	day, month := l.spendKeys(key, time.Now())
	keys := []string{l.windowKey(key, "tm", at.Truncate(time.Minute)), l.windowKey(key, "td", at.Truncate(24*time.Hour)), day, month}
	ctx, cancel := l.s.call(ctx)
	defer cancel()
	return l.s.failed(settleScript.Run(ctx, l.s.rdb, keys, delta, cost, spendTTL).Err())
}

// SeedSpend records, once per day and month across replicas, what keys
// spent before the shared counters knew of them (the usage store's
// rows), so that budgets hold from the first request.
func (l *Limits) SeedSpend(ctx context.Context, now time.Time, day, month map[string]float64) error {
	if !l.s.Up() {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*l.s.timeout)
	defer cancel()
	pipe := l.s.rdb.Pipeline()
	for k, v := range day {
		d, _ := l.spendKeys(k, now)
		pipe.SetNX(ctx, d, strconv.FormatFloat(v, 'g', -1, 64), spendTTL*time.Second)
	}
	for k, v := range month {
		_, m := l.spendKeys(k, now)
		pipe.SetNX(ctx, m, strconv.FormatFloat(v, 'g', -1, 64), spendTTL*time.Second)
	}
	_, err := pipe.Exec(ctx)
	return l.s.failed(err)
}
