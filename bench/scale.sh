#!/usr/bin/env bash
# Scale test: three switchyard replicas behind nginx, sharing Redis (key
# limits, sticky sessions, judge verdicts, circuits) and PostgreSQL (usage
# rows, run-time keys), all on loopback, all started here from Debian's
# packages (installed when missing). It checks, and prints as a table:
#
#   1. a key limited to 600 requests per minute, 20 clients for 90 s
#      through nginx: 900 ± 2 % answered in total;
#   2. a sticky conversation keeps its route whichever replica serves it;
#   3. a circuit opened by one replica is skipped by the others within 1 s;
#   4. the usage rows in PostgreSQL equal the requests answered;
#   5. one replica stopped mid-run: nginx fails over, no request is lost;
#   6. Redis stopped for 10 s: requests go on, /metrics shows the degraded
#      state, and the shared limit holds again once Redis is back.
#
# usage: bash bench/scale.sh [--quick]     (--quick: 20 s instead of 90 s)
# Exits non-zero when a check fails. About 3 minutes (1 with --quick).
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
[ "${1:-}" = --quick ] && quick=1
limit_secs=$([ $quick = 1 ] && echo 20 || echo 90)

log() { echo "scale: $*" >&2; }
need() { command -v "$1" > /dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }

missing=()
ls /usr/lib/postgresql/*/bin/initdb > /dev/null 2>&1 || missing+=(postgresql)
need redis-server || missing+=(redis-server)
need nginx || missing+=(nginx)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]} (apt)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" > /dev/null
fi
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

work=$(mktemp -d "${TMPDIR:-/tmp}/switchyard-scale.XXXXXX")
chmod 755 "$work"
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2> /dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2> /dev/null || true; done
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2> /dev/null || true
  bash scripts/test-servers.sh stop "$work/servers" || true
  rm -rf "$work"
}
trap cleanup EXIT

log "building"
go build -o "$work/switchyard" ./cmd/switchyard
go build -o "$work/upstream" ./bench/load/upstream
go build -o "$work/client" ./bench/scale/client
bash scripts/fetch-model.sh > /dev/null

bash scripts/test-servers.sh start "$work/servers"
# shellcheck disable=SC1091
. "$work/servers/env"
pg_url=$SWITCHYARD_TEST_POSTGRES_URL
redis_url=$SWITCHYARD_TEST_REDIS_URL
redis_port=${redis_url##*:}
redis_port=${redis_port%%/*}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

up_port=$(free_port)
"$work/upstream" -listen "127.0.0.1:$up_port" 2> "$work/upstream.log" &
pids+=($!)
dead_port=$(free_port) # nothing listens there: the failing provider

cat > "$work/config.yaml" << EOF
providers:
  - {name: up, kind: openai, base_url: "http://127.0.0.1:$up_port/v1", priority: 2, models: [bench-model], health_check_period: 0s}
  - {name: dead, kind: openai, base_url: "http://127.0.0.1:$dead_port/v1", priority: 1, max_failures: 1, recovery_interval: 5m, health_check_period: 0s}
routes:
  - name: code
    condition: "programming, code examples, debugging, software errors"
    examples: ["fix this stack trace", "write a function that parses dates"]
    targets: [{provider: up, model: bench-model}]
  - name: chat
    targets: [{provider: up, model: bench-model}]
default_route: chat
routing: {threshold: 0.5, ground: false, sticky: {enabled: true}}
aliases:
  flaky: [{provider: dead, model: m}, {provider: up, model: bench-model}]
api_keys:
  - {name: shared, key_env: SHARED_KEY, requests_per_minute: 600}
  - {name: root, key_env: ROOT_KEY, roles: [admin]}
usage: {store: postgres, postgres_url_env: PG_URL}
state: {redis: {url: "$redis_url"}}
server: {shutdown_grace: 30s}
log: {level: warn}
EOF

replica_ports=()
replica_pids=()
for i in 1 2 3; do
  port=$(free_port)
  SHARED_KEY=sk-shared ROOT_KEY=sk-root PG_URL=$pg_url XDG_CONFIG_HOME=$work/x$i XDG_DATA_HOME=$work/x$i \
    "$work/switchyard" serve --config "$work/config.yaml" --listen "127.0.0.1:$port" > "$work/replica$i.log" 2>&1 &
  pids+=($!)
  replica_pids+=($!)
  replica_ports+=("$port")
done
for i in 0 1 2; do
  for _ in $(seq 150); do
    curl -sf -o /dev/null "http://127.0.0.1:${replica_ports[$i]}/readyz" && break
    sleep 0.2
  done
  curl -sf -o /dev/null "http://127.0.0.1:${replica_ports[$i]}/readyz" \
    || { log "replica $((i + 1)) not ready:"; tail -5 "$work/replica$((i + 1)).log" >&2; exit 1; }
done

lb_port=$(free_port)
cat > "$work/nginx.conf" << EOF
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx-error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $work/nginx-body;
  proxy_temp_path $work/nginx-proxy;
  fastcgi_temp_path $work/nginx-fastcgi;
  uwsgi_temp_path $work/nginx-uwsgi;
  scgi_temp_path $work/nginx-scgi;
  upstream switchyard {
    server 127.0.0.1:${replica_ports[0]} max_fails=1 fail_timeout=5s;
    server 127.0.0.1:${replica_ports[1]} max_fails=1 fail_timeout=5s;
    server 127.0.0.1:${replica_ports[2]} max_fails=1 fail_timeout=5s;
    keepalive 64;
  }
  server {
    listen 127.0.0.1:$lb_port;
    location / {
      proxy_pass http://switchyard;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      # A replica that is gone (refused, reset) is skipped, POSTs
      # included: switchyard finishes what it accepted before it stops.
      proxy_next_upstream error http_502 http_503 non_idempotent;
      proxy_next_upstream_tries 3;
    }
  }
}
EOF
"$nginx_bin" -c "$work/nginx.conf" -p "$work"
lb=http://127.0.0.1:$lb_port
log "3 replicas on ${replica_ports[*]}, nginx on $lb_port, Redis on $redis_port, PostgreSQL"

failures=0
rows=()
check() { # name, measured, wanted, ok(0/1)
  local verdict=met
  if [ "$4" != 1 ]; then verdict=FAILED; failures=$((failures + 1)); fi
  rows+=("| $1 | $2 | $3 | $verdict |")
  log "$1: $2 (want $3): $verdict"
}
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<< " $2"; }
psql_count() { "$(cat "$work/servers/postgres.bin")/psql" -At "$pg_url" -c "$1"; }
admin_get() { curl -sf -H 'Authorization: Bearer sk-root' "http://127.0.0.1:$1$2"; }

# 1. The shared limit, through nginx.
log "1. 20 clients for ${limit_secs}s with a key of 600 requests per minute"
res=$("$work/client" -url "$lb/v1/chat/completions" -key sk-shared -c 20 -d "${limit_secs}s")
ok=$(field ok "$res") other=$(field other "$res")
want=$((limit_secs * 10))
# The full run holds the issue's bound; a quick one's 2 % is smaller than
# the 10-request burst, which it allows on top.
lo=$((want * 98 / 100)) hi=$((want * 102 / 100 + (quick ? 10 : 0)))
check "600/min key, 20 clients, ${limit_secs} s, 3 replicas: answered" "$ok ($(field limited "$res") refused, $other other)" "$want ± 2 % ($lo–$hi); one limiter per replica: ~$((3 * want))" \
  "$([ "$ok" -ge $lo ] && [ "$ok" -le $hi ] && [ "$other" = 0 ] && echo 1 || echo 0)"

# 2. Sticky sessions across replicas.
ask() { # session text → "route decided_by"
  curl -s -D - -o /dev/null "$lb/v1/chat/completions" -H 'Authorization: Bearer sk-root' ${1:+-H "X-Switchyard-Session: $1"} \
    -d "{\"model\":\"auto\",\"messages\":[{\"role\":\"user\",\"content\":\"$2\"}]}" \
    | tr -d '\r' | awk -F': ' 'tolower($1) == "x-switchyard-route" { r = $2 } tolower($1) == "x-switchyard-decided-by" { d = $2 } END { print r, d }'
}
alone=$(ask "" "make it shorter")
first=$(ask conv-1 "write a python function that parses dates")
kept=0
for _ in 1 2 3 4 5 6; do
  [ "$(ask conv-1 "make it shorter")" = "code sticky" ] && kept=$((kept + 1))
done
check "sticky conversation, 6 follow-ups over 3 replicas" "first turn: $first; follow-ups kept on code: $kept of 6 (alone: $alone)" "6 of 6" \
  "$([ "$kept" = 6 ] && [ "${first%% *}" = code ] && [ "${alone%% *}" = chat ] && echo 1 || echo 0)"

# 3. A circuit opened on one replica, skipped by all.
curl -sf -o /dev/null "$lb/v1/chat/completions" -H 'Authorization: Bearer sk-root' -d '{"model":"flaky","messages":[{"role":"user","content":"hi"}]}'
t0=$(date +%s%N)
open_on=0
while :; do
  open_on=0
  for p in "${replica_ports[@]}"; do
    admin_get "$p" /admin/providers | grep -q '"provider":"dead","model":"m","state":"open"' && open_on=$((open_on + 1))
  done
  [ $open_on = 3 ] && break
  [ $(( ($(date +%s%N) - t0) / 1000000 )) -gt 1000 ] && break
  sleep 0.02
done
took_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "circuit opened on one replica" "open on $open_on of 3 replicas after ${took_ms} ms" "3 of 3 within 1 s" \
  "$([ $open_on = 3 ] && [ $took_ms -le 1000 ] && echo 1 || echo 0)"

# 4. Usage rows: the writers flush within a second.
sleep 2
rows_pg=$(psql_count "SELECT COUNT(*) FROM requests WHERE key = 'shared' AND status = 200")
check "usage rows in PostgreSQL for the limited key" "$rows_pg rows" "$ok (the requests answered)" "$([ "$rows_pg" = "$ok" ] && echo 1 || echo 0)"

# 5. Stop a replica mid-run.
log "5. 20 clients for 20 s; replica 3 stopped (SIGTERM) after 8 s"
"$work/client" -url "$lb/v1/chat/completions" -key sk-root -c 20 -d 20s > "$work/kill.out" &
cpid=$!
sleep 8
kill -TERM "${replica_pids[2]}"
wait "$cpid"
res=$(cat "$work/kill.out")
check "replica stopped mid-run (20 clients, 20 s)" "$(field ok "$res") answered, $(field other "$res") lost $(field detail "$res")" "0 lost" \
  "$([ "$(field other "$res")" = 0 ] && [ "$(field ok "$res")" -gt 0 ] && echo 1 || echo 0)"

# 6. Redis stopped for 10 s.
log "6. Redis stopped for 10 s under load"
"$work/client" -url "$lb/v1/chat/completions" -key sk-root -c 10 -d 16s > "$work/redis.out" &
cpid=$!
sleep 2
redis-cli -p "$redis_port" shutdown nosave > /dev/null 2>&1 || true
sleep 3
degraded=$(admin_get "${replica_ports[0]}" /metrics | awk '/^switchyard_shared_state_up / { print $2 }')
status_up=$(admin_get "${replica_ports[0]}" /admin/status | grep -o '"shared_state":{[^}]*}' || true)
sleep 7
redis-server --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no --daemonize yes \
  --pidfile "$work/servers/redis/redis.pid" --logfile "$work/servers/redis/redis.log" --dir "$work/servers/redis" > /dev/null
wait "$cpid"
res=$(cat "$work/redis.out")
sleep 2
back=$(admin_get "${replica_ports[0]}" /metrics | awk '/^switchyard_shared_state_up / { print $2 }')
check "Redis down 10 s under load" "$(field ok "$res") answered, $(field other "$res") failed; switchyard_shared_state_up $degraded while down ($status_up), $back after" \
  "0 failed; 0 while down, 1 after" \
  "$([ "$(field other "$res")" = 0 ] && [ "$degraded" = 0 ] && [ "$back" = 1 ] && echo 1 || echo 0)"
res=$("$work/client" -url "$lb/v1/chat/completions" -key sk-shared -c 20 -d 10s)
ok=$(field ok "$res")
check "the shared limit after Redis is back (10 s, 2 replicas)" "$ok answered" "100–125 (the pace and the burst; local limiters: ~1,200)" \
  "$([ "$ok" -ge 100 ] && [ "$ok" -le 125 ] && echo 1 || echo 0)"

echo
echo "$(date -u +%Y-%m-%d), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) CPUs; switchyard at $(git rev-parse --short HEAD 2> /dev/null || echo unknown)"
echo
echo "| check | measured | wanted | |"
echo "|---|---|---|---|"
printf '%s\n' "${rows[@]}"
[ $failures = 0 ] || { log "$failures checks failed"; exit 1; }
