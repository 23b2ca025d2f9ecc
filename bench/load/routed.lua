-- wrk script for bench/load.sh's auto-routed rows: POSTs chat completions
-- with no model, so that switchyard routes each one (embeds the message and
-- scores every route). Arguments after wrk's "--":
--
--   MODE   unique: every request a new prompt (every decision misses the
--          embedding cache); repeat90: 9 requests in 10 repeat one of 16
--          fixed prompts (cache hits), every 10th is new
--   START  index of the first new prompt; give every run against one
--          gateway its own, so that no run repeats an earlier one's prompts
--   WORDS  the word list, bench/load/words.txt
--
-- A prompt is 14 words of the 64 in WORDS, each one WordPiece token, so 16
-- tokens with [CLS] and [SEP]. The arithmetic is bench/load/rate/prompts.go's
-- (which the fixed-rate runs use); change both or neither. wrk runs with
-- one thread (-t1), so one counter numbers every request of the run. (wrk
-- calls request() once before the run and drops that request, so the
-- prompts sent start at START+1.)
--
-- done() prints chat.lua's RESULT line.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk-bench"

local mode, start, words = "unique", 0, {}
local i = 0
local HOT_BASE, HOT, MOD, MUL = 16000000, 16, 2147483647, 48271

function init(args)
  mode = args[1] or mode
  start = tonumber(args[2] or "0")
  for w in io.open(args[3] or "bench/load/words.txt"):read("*a"):gmatch("%S+") do
    words[#words + 1] = w
  end
  assert(#words == 64, "want 64 words, got " .. #words)
end

-- prompt k: words 2, 6, 10 and 14 are k's base-64 digits (so every k < 64^4
-- gives a different text), the rest come from MINSTD seeded with k.
local function prompt(k)
  local state = k % (MOD - 1) + 1
  local out = {}
  for j = 0, 13 do
    local w
    if j % 4 == 1 then
      w = math.floor(k / 64 ^ math.floor(j / 4)) % 64
    else
      state = state * MUL % MOD
      w = math.floor(state / 65536) % 64
    end
    out[#out + 1] = words[w + 1]
  end
  return table.concat(out, " ")
end

function request()
  local k = start + i
  if mode == "repeat90" and i % 10 ~= 9 then k = HOT_BASE + i % HOT end
  i = i + 1
  return wrk.format(nil, nil, nil,
    '{"messages":[{"role":"user","content":"' .. prompt(k) .. '"}],"max_tokens":16}')
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT requests=%d seconds=%.3f errors=%d p50_us=%d p90_us=%d p99_us=%d\n",
    summary.requests, summary.duration / 1e6,
    e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99)))
end
