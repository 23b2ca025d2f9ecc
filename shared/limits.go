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
// at once; they implement auth.SharedCounters.
//
// Shared limits are rates, kept with GCRA (the generic cell rate
// algorithm): a key's N per minute is paced at N/60 a second, with a
// burst of one second's share (at least one request); N per day at N/24
// an hour, with a burst of one hour's share. Each limit is one number in
// Redis, the theoretical arrival time, moved by a Lua script; so 600
// requests per minute admit 900 over 90 seconds of saturation across any
// number of replicas. A request that finds its limit idle always fits,
// however large, so a token limit below one request's size does not lock
// a key out. Spend is kept per UTC day and month.
type Limits struct{ s *Store }

// Limits returns the shared key limits of s.
func (s *Store) Limits() *Limits { return &Limits{s: s} }

var _ auth.SharedCounters = (*Limits)(nil)

// Up reports whether Redis is reachable.
func (l *Limits) Up() bool { return l.s.Up() }

// the four limits, in the script's order; burst is the share of the
// period a burst may take
var windows = []struct {
	tag           string
	period, burst time.Duration
	name          string
}{
	{"rm", time.Minute, time.Second, "requests per minute"},
	{"rd", 24 * time.Hour, time.Hour, "requests per day"},
	{"tm", time.Minute, time.Second, "tokens per minute"},
	{"td", 24 * time.Hour, time.Hour, "tokens per day"},
}

// reserveScript checks every limit and budget, and counts the request in
// all of them only when all have room.
//
// KEYS: the arrival time of each limit (4), the spend of the day, of the
// month. ARGV: for each limit its interval per unit in ms (0: no limit),
// the amount, the burst in ms, the key's ttl in ms (16); now in ms; the
// day's and the month's budget.
// Returns {0} when counted; {i, retry_ms} when limit i (1-4) has no room;
// {5} or {6} when the day's or the month's budget is spent.
var reserveScript = redis.NewScript(`
local now = tonumber(ARGV[17])
local tats = {}
for w = 0, 3 do
  local t = tonumber(ARGV[w*4+1])
  if t > 0 then
    local tat = tonumber(redis.call('GET', KEYS[w+1]) or '0')
    local new = math.max(tat, now) + tonumber(ARGV[w*4+2]) * t
    if tat > now and new - now > tonumber(ARGV[w*4+3]) then
      return {w+1, math.ceil(new - tonumber(ARGV[w*4+3]) - now)}
    end
    tats[w+1] = new
  end
end
local bd, bm = tonumber(ARGV[18]), tonumber(ARGV[19])
if bd > 0 and tonumber(redis.call('GET', KEYS[5]) or '0') >= bd then return {5} end
if bm > 0 and tonumber(redis.call('GET', KEYS[6]) or '0') >= bm then return {6} end
for w = 1, 4 do
  if tats[w] then
    redis.call('SET', KEYS[w], string.format('%.3f', tats[w]), 'PX', math.ceil(tats[w] - now) + tonumber(ARGV[(w-1)*4+4]))
  end
end
return {0}
`)

// settleScript moves the token limits' arrival times by what the
// request really used, and adds its cost to the spend.
//
// KEYS: the minute and day token limits, the spend of the day and of the
// month. ARGV: the token delta, each limit's interval per token in ms,
// the cost, the spend keys' ttl in seconds.
var settleScript = redis.NewScript(`
local d = tonumber(ARGV[1])
if d ~= 0 then
  for i = 1, 2 do
    local t = tonumber(ARGV[i+1])
    local tat = redis.call('GET', KEYS[i])
    if t > 0 and tat then
      redis.call('SET', KEYS[i], string.format('%.3f', tonumber(tat) + d * t), 'KEEPTTL')
    end
  end
end
local c = tonumber(ARGV[4])
if c > 0 then
  for i = 3, 4 do
    redis.call('INCRBYFLOAT', KEYS[i], ARGV[4])
    redis.call('EXPIRE', KEYS[i], ARGV[5])
  end
end
return 0
`)

// limitKey is the arrival time of key's limit tag. The key name in
// braces is a Redis Cluster hash tag: one key's counters live on one
// node, as the scripts need.
func (l *Limits) limitKey(key, tag string) string {
	return l.s.prefix + "lim:{" + key + "}:" + tag
}

func (l *Limits) spendKeys(key string, now time.Time) (day, month string) {
	t := now.UTC()
	base := l.s.prefix + "lim:{" + key + "}:spend:"
	return base + t.Format("20060102"), base + t.Format("200601")
}

// spendTTL keeps a month's spend into the next month, and so the day's.
const spendTTL = 32 * 24 * 3600

// interval is the time one unit of limit takes, in ms; 0 for no limit.
func interval(period time.Duration, limit int) float64 {
	if limit <= 0 {
		return 0
	}
	return float64(period.Milliseconds()) / float64(limit)
}

// burstMS is the burst a limit allows, in ms of its arrival time: the
// window's burst share, and at least one unit.
func burstMS(period, burst time.Duration, limit int) float64 {
	t := interval(period, limit)
	return max(float64(burst.Milliseconds()), t)
}

func (l *Limits) limitsOf(k *auth.Key) []int {
	return []int{k.RequestsPerMinute, k.RequestsPerDay, k.TokensPerMinute, k.TokensPerDay}
}

// Reserve implements auth.SharedCounters.
func (l *Limits) Reserve(ctx context.Context, k *auth.Key, tokens int, now time.Time) error {
	limits := l.limitsOf(k)
	amounts := []int{1, 1, tokens, tokens}
	keys := make([]string, 0, 6)
	args := make([]any, 0, 19)
	for i, w := range windows {
		keys = append(keys, l.limitKey(k.Name, w.tag))
		args = append(args, interval(w.period, limits[i]), amounts[i], burstMS(w.period, w.burst, limits[i]), w.burst.Milliseconds()+1000)
	}
	day, month := l.spendKeys(k.Name, now)
	keys = append(keys, day, month)
	args = append(args, now.UnixMilli(), k.BudgetDay, k.BudgetMonth)
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
		w := windows[code-1]
		retry, _ := res[1].(int64)
		return &auth.LimitError{Key: k.Name, Limit: w.name, Max: limits[code-1], Retry: time.Duration(retry) * time.Millisecond}
	case code == 5:
		return &auth.LimitError{Key: k.Name, Limit: "USD per day", Budget: k.BudgetDay, Retry: now.UTC().Truncate(24 * time.Hour).Add(24 * time.Hour).Sub(now)}
	case code == 6:
		y, m, _ := now.UTC().Date()
		return &auth.LimitError{Key: k.Name, Limit: "USD per month", Budget: k.BudgetMonth, Retry: time.Date(y, m+1, 1, 0, 0, 0, 0, time.UTC).Sub(now)}
	}
	return fmt.Errorf("shared limits: unexpected answer %v", res)
}

// Settle implements auth.SharedCounters.
func (l *Limits) Settle(ctx context.Context, k *auth.Key, at time.Time, delta int, cost float64) error {
	if delta == 0 && cost <= 0 {
		return nil
	}
	tm, td := interval(time.Minute, k.TokensPerMinute), interval(24*time.Hour, k.TokensPerDay)
	day, month := l.spendKeys(k.Name, time.Now())
	keys := []string{l.limitKey(k.Name, "tm"), l.limitKey(k.Name, "td"), day, month}
	ctx, cancel := l.s.call(ctx)
	defer cancel()
	return l.s.failed(settleScript.Run(ctx, l.s.rdb, keys, delta, tm, td, cost, spendTTL).Err())
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
