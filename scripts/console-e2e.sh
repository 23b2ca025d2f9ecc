#!/usr/bin/env bash
# The web console in a real browser: Debian's chromium driven by
# playwright-core (npm) through scripts/console/console.test.mjs, against
# the switchyard binary ($SWITCHYARD_BIN, else built) in front of fake
# upstreams. Screenshots of every screen go to docs/console/.
#
# Without chromium or npm it says "skipped", or fails under
# SWITCHYARD_REQUIRE_SERVERS=1 (CI). playwright-core is installed once
# into ${XDG_CACHE_HOME:-~/.cache}/switchyard/console-node.
set -euo pipefail
cd "$(dirname "$0")/.."

chromium=${CHROMIUM:-$(command -v chromium || true)}
if [ -z "$chromium" ] || ! command -v npm > /dev/null; then
  msg="console-e2e: skipped: needs chromium (apt-get install chromium) and npm"
  if [ "${SWITCHYARD_REQUIRE_SERVERS:-}" = 1 ]; then echo "$msg, and SWITCHYARD_REQUIRE_SERVERS=1" >&2; exit 1; fi
  echo "$msg"
  exit 0
fi
node_dir=${SWITCHYARD_CONSOLE_NODE:-${XDG_CACHE_HOME:-$HOME/.cache}/switchyard/console-node}
pin=$(sed -n 's/.*"playwright-core": *"\([^"]*\)".*/\1/p' scripts/console/package.json)
if [ "$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$node_dir/node_modules/playwright-core/package.json" 2> /dev/null | head -1)" != "$pin" ]; then
  mkdir -p "$node_dir"
  cp scripts/console/package.json "$node_dir/package.json"
  (cd "$node_dir" && npm install --no-audit --no-fund --loglevel=error > npm-install.log 2>&1) \
    || { echo "console-e2e: npm install failed:" >&2; tail -5 "$node_dir/npm-install.log" >&2; exit 1; }
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/switchyard-console.XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2> /dev/null || true; done
  wait 2> /dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

bin=${SWITCHYARD_BIN:-}
if [ -z "$bin" ]; then
  bin=$work/switchyard
  go build -o "$bin" ./cmd/switchyard
fi
go build -o "$work/upstream" ./bench/load/upstream
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
up=$(free_port) flaky=$(free_port) port=$(free_port)
"$work/upstream" -listen "127.0.0.1:$up" 2> /dev/null &
pids+=($!)
"$work/upstream" -listen "127.0.0.1:$flaky" -model flaky-model 2> /dev/null &
flaky_pid=$!
pids+=($flaky_pid)

# The quality screen's corpus: a few labelled prompts.
cat > "$work/corpus.jsonl" << 'JSONL'
{"text": "write a python function that parses dates", "label": "code"}
{"text": "why does my rust program panic with index out of bounds", "label": "code"}
{"text": "fix this stack trace from my java service", "label": "code"}
{"text": "tell me a bedtime story about a dragon", "label": "creative"}
{"text": "write a poem about the sea at night", "label": "creative"}
{"text": "compose song lyrics about leaving home", "label": "creative"}
{"text": "what is the capital of france", "label": "oos"}
{"text": "how many grams are in a pound", "label": "oos"}
JSONL

cat > "$work/config.yaml" << YAML
listen: 127.0.0.1:$port
providers:
  - {name: up, kind: openai, base_url: "http://127.0.0.1:$up/v1", priority: 2, health_check_period: 0s}
  - {name: flaky, kind: openai, base_url: "http://127.0.0.1:$flaky/v1", priority: 1, max_failures: 2, recovery_interval: 5m, health_check_period: 0s}
routes:
  - name: code
    condition: "programming, code examples, debugging, software errors"
    examples: ["fix this stack trace", "write a function that parses dates"]
    targets: [{provider: up, model: bench-model}]
  - name: creative
    condition: "creative writing, stories, poems, song lyrics, fiction"
    examples: ["write a haiku about autumn rain", "tell me a bedtime story"]
    targets: [{provider: up, model: bench-model}]
  - name: chat
    targets: [{provider: up, model: bench-model}]
default_route: chat
routing: {threshold: 0.5, ground: false}
aliases:
  flaky-model: [{provider: flaky, model: flaky-model}, {provider: up, model: bench-model}]
api_keys:
  - {name: root, key_env: CONSOLE_KEY, roles: [admin, user]}
usage: {path: "$work/usage.db"}
conversation_log: {enabled: true, path: "$work/conversations.jsonl"}
console: {eval_data: "$work/corpus.jsonl"}
log: {level: warn}
YAML
CONSOLE_KEY=sk-console-root XDG_DATA_HOME=$work XDG_CONFIG_HOME=$work "$bin" serve --config "$work/config.yaml" > "$work/serve.log" 2>&1 &
pids+=($!)
for _ in $(seq 150); do
  curl -sf -o /dev/null "http://127.0.0.1:$port/readyz" && break
  sleep 0.2
done
curl -sf -o /dev/null "http://127.0.0.1:$port/readyz" || { echo "console-e2e: switchyard did not start:" >&2; tail -5 "$work/serve.log" >&2; exit 1; }

mkdir -p docs/console
cp scripts/console/console.test.mjs "$node_dir/"
# The key test drives the official Python SDK: the interop venv's python
# (scripts/test.sh sets SWITCHYARD_INTEROP_PYTHON), else one with openai.
py=${SWITCHYARD_INTEROP_PYTHON:-python3}
CONSOLE_URL=http://127.0.0.1:$port CONSOLE_ADMIN_KEY=sk-console-root CONSOLE_SHOTS=$PWD/docs/console \
  CONSOLE_FLAKY_PID=$flaky_pid CONSOLE_PYTHON=$py CHROMIUM=$chromium node "$node_dir/console.test.mjs"
