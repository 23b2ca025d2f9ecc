#!/usr/bin/env bash
# Runs the Go tests that need a real LLM (TestLocalLLM* in cmd/switchyard)
# against a local llama.cpp server: the model and the llama-cpp-python
# wheel installed by `bash scripts/fetch-llm.sh --wheel`. When either is
# not cached it prints "skipped: …" and exits 0 (1 with --require): this
# script never downloads the model nor builds the wheel, which are slow.
#
# Steps, each timed: bring the venv up to date (scripts/fetch-llm.sh
# --wheel, which verifies the model and reuses the cached wheel), build the
# tests, start `python -m llama_cpp.server` on a free loopback port with 2
# threads, wait for /v1/models, then run
#
#   SWITCHYARD_LLM_URL=http://127.0.0.1:PORT/v1 SWITCHYARD_LLM_MODEL=ID \
#     go test -run LocalLLM -count=1 ./cmd/switchyard/ -v
#
# The server is stopped on exit, whatever happens; its log is printed when
# it fails to start.
#
# usage: bash scripts/llm-e2e.sh [--require]
#
#   --require   fail, rather than skip, when the model or the wheel is missing
#   SWITCHYARD_LLM_DIR, SWITCHYARD_WHEEL_CACHE, SWITCHYARD_LLM_VENV: as for
#   scripts/fetch-llm.sh
set -euo pipefail

readonly MODEL_FILE=qwen2.5-coder-0.5b-instruct-q4_k_m.gguf
readonly LLAMA_VERSION=0.3.36
# Loading a 0.5 GB model takes seconds; a cold page cache on a slow disk
# gets more.
readonly START_TIMEOUT=180

say() { printf 'llm-e2e: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

require=false
while [ $# -gt 0 ]; do
  case $1 in
    --require) require=true; shift ;;
    -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done

cd "$(dirname "${BASH_SOURCE[0]}")/.."

root=${XDG_CACHE_HOME:-${HOME:?HOME is not set}/.cache}/switchyard
dir=${SWITCHYARD_LLM_DIR:-$root/llm}
wheels=${SWITCHYARD_WHEEL_CACHE:-$root/wheels}
venv=${SWITCHYARD_LLM_VENV:-$root/llm-venv}
export SWITCHYARD_LLM_DIR=$dir SWITCHYARD_WHEEL_CACHE=$wheels SWITCHYARD_LLM_VENV=$venv

skip() {
  if $require; then
    die "$* (--require)"
  fi
  echo "llm-e2e: skipped: $*; run bash scripts/fetch-llm.sh --wheel first"
  exit 0
}
[ -f "$dir/$MODEL_FILE" ] || skip "no local LLM at $dir/$MODEL_FILE"
ls "$wheels"/llama_cpp_python-"$LLAMA_VERSION"-*.whl >/dev/null 2>&1 ||
  skip "no llama-cpp-python $LLAMA_VERSION wheel in $wheels"

timings=()
# step NAME START: records how long NAME took since START (a $SECONDS value).
step() {
  timings+=("$(printf '%-24s %4ds' "$1" "$((SECONDS - $2))")")
  say "$1: $((SECONDS - $2))s"
}
report() {
  local t
  say "timings:"
  for t in ${timings[@]+"${timings[@]}"}; do say "  $t"; done
}

server_pid=""
tmp=$(mktemp -d "${TMPDIR:-/tmp}/llm-e2e.XXXXXX")
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
  report
}
trap cleanup EXIT

t=$SECONDS
model=$(bash scripts/fetch-llm.sh --wheel | tail -n 1)
step "venv and model check" "$t"

# Built before the server starts: a build failure costs no server start,
# and the test step below times the tests, not the compiler.
t=$SECONDS
go test -c -o "$tmp/switchyard.test" ./cmd/switchyard/
step "build the tests" "$t"

# A free loopback port: the kernel picks one, it is released, and the
# server takes it a moment later (another taker in between is unlikely, and
# would only fail the start).
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url=http://127.0.0.1:$port/v1

t=$SECONDS
"$venv/bin/python" -m llama_cpp.server --model "$model" --n_threads 2 \
  --host 127.0.0.1 --port "$port" --n_ctx 4096 >"$tmp/server.log" 2>&1 &
server_pid=$!
say "started llama_cpp.server (pid $server_pid) on $url"

# models_of prints the id of the first model /v1/models lists, or fails.
models_of() {
  python3 - "$1/models" <<'EOF'
import json, sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=5) as r:
    print(json.load(r)["data"][0]["id"])
EOF
}
model_id=""
while [ $((SECONDS - t)) -lt $START_TIMEOUT ]; do
  if ! kill -0 "$server_pid" 2>/dev/null; then
    cat "$tmp/server.log" >&2
    die "llama_cpp.server exited before it answered"
  fi
  if model_id=$(models_of "$url" 2>/dev/null); then
    break
  fi
  sleep 0.5
done
if [ -z "$model_id" ]; then
  cat "$tmp/server.log" >&2
  die "llama_cpp.server did not answer $url/models within ${START_TIMEOUT}s"
fi
step "server start" "$t"
say "serving model $model_id"

t=$SECONDS
status=0
SWITCHYARD_LLM_URL=$url SWITCHYARD_LLM_MODEL=$model_id \
  go test -run 'LocalLLM' -count=1 ./cmd/switchyard/ -v || status=1
step "go test -run LocalLLM" "$t"
if [ $status -ne 0 ]; then
  say "the server's log:"
  tail -n 40 "$tmp/server.log" >&2
fi
exit $status
