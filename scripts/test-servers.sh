#!/usr/bin/env bash
# Starts the servers the tests use as a user would have them, on loopback
# only, each in a throwaway directory under DIR, and writes the variables
# that point the tests at them to DIR/env (sourced by scripts/test.sh):
#
#   PostgreSQL  SWITCHYARD_TEST_POSTGRES_URL   (apt: postgresql)
#   Redis       SWITCHYARD_TEST_REDIS_URL      (apt: redis-server)
#
# A server whose binaries are missing is left out, with a line saying so;
# the tests that need it then skip, or fail under SWITCHYARD_REQUIRE_SERVERS=1
# (CI). `stop DIR` stops what `start DIR` started.
#
# usage: bash scripts/test-servers.sh start|stop DIR
set -euo pipefail

cmd=${1:?usage: test-servers.sh start|stop DIR}
dir=${2:?usage: test-servers.sh start|stop DIR}

log() { echo "test-servers: $*" >&2; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# PostgreSQL refuses to run as root: as root, its files and process belong
# to the postgres user that Debian's package creates.
as_pg() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

pg_bin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && { echo "$d"; return; }
  done
  command -v initdb > /dev/null && dirname "$(command -v initdb)"
}

start_postgres() {
  local bin port data
  bin=$(pg_bin || true)
  if [ -z "$bin" ]; then
    log "PostgreSQL not installed (apt-get install postgresql); its tests skip"
    return
  fi
  port=$(free_port)
  data=$dir/postgres
  mkdir -p "$data"
  if [ "$(id -u)" = 0 ]; then
    # the postgres user must reach its directory
    chmod o+x "$dir" "$(dirname "$dir")"
    chown postgres: "$data" && chmod 700 "$data"
  fi
  as_pg "$bin/initdb" -D "$data" -U switchyard --auth=trust -E UTF8 > "$dir/postgres-initdb.log" 2>&1 \
    || { log "initdb failed:"; cat "$dir/postgres-initdb.log" >&2; return 1; }
  # Loopback only, no unix socket directory outside $data, small and fast:
  # durability is not what the tests are about.
  as_pg "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 \
    -o "-h 127.0.0.1 -p $port -k $data -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" start > /dev/null \
    || { log "PostgreSQL did not start:"; cat "$data/server.log" >&2; return 1; }
  as_pg "$bin/createdb" -h 127.0.0.1 -p "$port" -U switchyard switchyard_test
  echo "export SWITCHYARD_TEST_POSTGRES_URL=postgres://switchyard@127.0.0.1:$port/switchyard_test?sslmode=disable" >> "$dir/env"
  echo "$bin" > "$dir/postgres.bin"
  log "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port"
}

stop_postgres() {
  [ -f "$dir/postgres.bin" ] || return 0
  as_pg "$(cat "$dir/postgres.bin")/pg_ctl" -D "$dir/postgres" -m immediate stop > /dev/null 2>&1 || true
}

start_redis() {
  if ! command -v redis-server > /dev/null; then
    log "Redis not installed (apt-get install redis-server); its tests skip"
    return
  fi
  local port
  port=$(free_port)
  mkdir -p "$dir/redis"
  redis-server --bind 127.0.0.1 --port "$port" --save "" --appendonly no --daemonize yes \
    --pidfile "$dir/redis/redis.pid" --logfile "$dir/redis/redis.log" --dir "$dir/redis" > /dev/null
  for _ in $(seq 50); do
    redis-cli -p "$port" ping > /dev/null 2>&1 && break
    sleep 0.1
  done
  redis-cli -p "$port" ping > /dev/null 2>&1 || { log "Redis did not start:"; cat "$dir/redis/redis.log" >&2; return 1; }
  echo "export SWITCHYARD_TEST_REDIS_URL=redis://127.0.0.1:$port/0" >> "$dir/env"
  log "Redis $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/') on 127.0.0.1:$port"
}

stop_redis() {
  [ -f "$dir/redis/redis.pid" ] && kill "$(cat "$dir/redis/redis.pid")" 2> /dev/null || true
}

case $cmd in
  start)
    mkdir -p "$dir"
    : > "$dir/env"
    start_postgres
    start_redis
    ;;
  stop)
    stop_postgres
    stop_redis
    ;;
  *)
    echo "usage: test-servers.sh start|stop DIR" >&2
    exit 2
    ;;
esac
