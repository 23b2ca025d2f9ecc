#!/usr/bin/env bash
# Conditions-only routing: every route written as one line from what its
# label means, no examples, scored with each routing lever on its own, then
# all together, then with a local LLM, and by semantic-router given the
# same conditions. Writes the tables into docs/EVALUATION.md between
# <!-- conditions:begin --> and <!-- conditions:end --> (the section is
# appended if the markers are missing).
#
# Phase 1 (embedding only, ~10 min on 2 cores): for each setup, switchyard
# eval with levers L1-L5 (bench/conditions.py's LEVERS) on every row of the
# split, p50 over --latency-sample timed decisions; then semantic-router.
# Phase 2 (LLM, slow: hours on 2 cores): starts a llama.cpp server
# (llama-cpp-python's, from the venv scripts/fetch-llm.sh sets up) with
# the local model, then per setup: judge below threshold and judge always
# on a stratified sample of --sample rows, and `routes expand --n 30
# --write` followed by eval with the new defaults on every row. The table
# is rewritten after every step, so a run cut short still reports what it
# measured. Phase 1 runs first: the LLM server must not share the CPU with
# the latency measurements.
#
# usage: bash bench/conditions.sh [--out DIR] [--no-llm | --llm-only] [--no-doc]
#          [--sample N] [--latency-sample N] [--llm-latency-sample N]
#          [--llm-setups a,b] [--expand-setups a,b]
#
#   --out DIR              work files (configs, corpora, JSON results, logs);
#                          default ${TMPDIR:-/tmp}/switchyard-conditions;
#                          --llm-only reuses it
#   --no-llm               phase 1 only
#   --llm-only             phase 2 only, on the configs of an earlier phase 1
#   --sample N             rows of the LLM judge levers' sample (default 150)
#   --latency-sample N     timed decisions of the embedding rows (default 100)
#   --llm-latency-sample N timed decisions of the judge rows (default 10)
#   --llm-setups LIST      setups for the judge rows (default below)
#   --expand-setups LIST   setups for routes expand (default llm_tasks-test,mt_bench;
#                          llm_tasks-val reuses llm_tasks-test's expansion)
#
#   SWITCHYARD_DATASETS    datasets root (default ../shared/datasets, else /work/shared/datasets)
#   SWITCHYARD_SEMROUTER_VENV, SWITCHYARD_TORCH_SITE   as for bench/eval.sh
#   SWITCHYARD_LLM_DIR, SWITCHYARD_WHEEL_CACHE, SWITCHYARD_LLM_VENV   as for scripts/fetch-llm.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

out=${TMPDIR:-/tmp}/switchyard-conditions
phase1=1 phase2=1 write_doc=1 sample=150 lat=100 llm_lat=10
llm_setups=llm_tasks-test,mt_bench,vicuna,corpus,mas,clinc_domains-intents
expand_setups=llm_tasks-test,mt_bench
while [ $# -gt 0 ]; do
  case $1 in
    --out) out=$2; shift 2 ;;
    --no-llm) phase2=0; shift ;;
    --llm-only) phase1=0; shift ;;
    --no-doc) write_doc=0; shift ;;
    --sample) sample=$2; shift 2 ;;
    --latency-sample) lat=$2; shift 2 ;;
    --llm-latency-sample) llm_lat=$2; shift 2 ;;
    --llm-setups) llm_setups=$2; shift 2 ;;
    --expand-setups) expand_setups=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) echo "conditions: unknown argument: $1" >&2; exit 2 ;;
  esac
done
say() { printf 'conditions: %s\n' "$*" >&2; }

data=${SWITCHYARD_DATASETS:-}
if [ -z "$data" ]; then
  for d in "$root/../shared/datasets" /work/shared/datasets; do
    [ -d "$d" ] && { data=$(cd "$d" && pwd); break; }
  done
fi
[ -n "$data" ] && [ -d "$data" ] || { say "datasets not found; set SWITCHYARD_DATASETS"; exit 1; }

mkdir -p "$out"; out=$(cd "$out" && pwd)
cond() { python3 "$root/bench/conditions.py" "$@"; }
table() {
  if [ "$write_doc" = 1 ]; then
    cond table --out "$out" --doc docs/EVALUATION.md > "$out/table.md"
  else
    printf '<!-- conditions:begin -->\n<!-- conditions:end -->\n' > "$out/doc.md"
    cond table --out "$out" --doc "$out/doc.md" > "$out/table.md"
  fi
}

sy="$out/switchyard"
GOFLAGS=-buildvcs=auto go build -o "$sy" ./cmd/switchyard
bash scripts/fetch-model.sh >&2
model_dir=${SWITCHYARD_MODEL_DIR:-${SWITCHYARD_MODELS:-${XDG_CACHE_HOME:-$HOME/.cache}/switchyard/models}/all-MiniLM-L6-v2}
start=$(date +%s)

# run_eval SETUP KEY CONFIG DATA LATENCY [--judge]: switchyard eval into
# SETUP/KEY.json; a failure leaves SETUP/KEY.note instead.
run_eval() {
  local w="$out/$1" key=$2 config=$3 corpus=$4 n=$5; shift 5
  rm -f "$w/$key.json" "$w/$key.note"
  cut -d' ' -f1 /proc/loadavg > "$w/$key.load"  # the table flags rows timed on a busy machine
  if "$sy" eval --config "$config" --data "$corpus" --json --latency-sample "$n" "$@" \
      > "$w/$key.json.tmp" 2> "$w/$key.log"; then
    mv "$w/$key.json.tmp" "$w/$key.json"
  else
    rm -f "$w/$key.json.tmp"
    echo "eval failed (see $key.log)" > "$w/$key.note"
    say "$1 $key: eval failed, see $w/$key.log"
  fi
}

if [ "$phase1" = 1 ]; then
  rm -f "$out"/*/{expand,judge,always}.{json,note}  # results of an earlier run's LLM phase
  setups=$(cond prepare --data "$data" --root "$root" --out "$out" --sample "$sample")
  cpu=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)
  load=$(cut -d' ' -f1 /proc/loadavg)
  note=""
  if awk -v l="$load" -v n="$(nproc)" 'BEGIN{exit !(l > n / 2)}'; then
    note="load average $load on $(nproc) cores at the start: other work shared the CPU, so latencies are inflated"
    say "warning: $note"
  fi
  cond meta --out "$out" --init --set "cpu=$cpu" --set "cores=$(nproc)" \
    --set "switchyard=$("$sy" version 2>/dev/null | head -1)" --set "latency_sample=$lat" \
    --set "sample=$sample" --set "llm_latency_sample=$llm_lat" --set "note=$note" \
    --set "llm_note=not run yet"

  for s in $setups; do
    say "== $s: levers L1-L5"
    for key in L1 L2 L3 L4 L5; do
      run_eval "$s" "$key" "$out/$s/$key.yaml" "$out/$s/test.jsonl" "$lat"
    done
    if [ "$(grep -c . "$out/$s/sample.jsonl")" != "$(grep -c . "$out/$s/test.jsonl")" ]; then
      run_eval "$s" L5s "$out/$s/L5.yaml" "$out/$s/sample.jsonl" "$lat"
    fi
    if [ "$s" = mas ]; then run_eval mas masjson "$out/mas/mas.json" "$out/mas/test.jsonl" "$lat"; fi
  done
  table

  # semantic-router: the same conditions (its routes' utterances are the
  # condition and its parts, as switchyard indexes them), no fit: there is
  # no validation data on its side for conditions only, so it always routes.
  venv=${SWITCHYARD_SEMROUTER_VENV:-$HOME/.cache/switchyard/semrouter-venv}
  if ! "$venv/bin/python" -c 'import semantic_router, sentence_transformers, yaml' 2>/dev/null; then
    say "setting up $venv (one-off)"
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    if [ -n "${SWITCHYARD_TORCH_SITE:-}" ]; then
      site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
      echo "$SWITCHYARD_TORCH_SITE" > "$site/zz_torch_site.pth"
    fi
    "$venv/bin/pip" install -q -r bench/requirements-eval.txt || true
  fi
  for s in $setups; do
    say "== $s: semantic-router"
    w="$out/$s"; rm -f "$w/semrouter.note"
    cut -d' ' -f1 /proc/loadavg > "$w/semrouter.load"
    if ! "$venv/bin/python" bench/semrouter_eval.py run --config "$w/semrouter.yaml" --test "$w/test-text.jsonl" \
        --model-dir "$model_dir" --compact --predictions "$w/semrouter-predictions.jsonl" \
        > "$w/semrouter.json" 2> "$w/semrouter.log"; then
      rm -f "$w/semrouter.json"; echo "semantic-router failed (see semrouter.log)" > "$w/semrouter.note"
    fi
  done
  table
  say "phase 1 (embedding only) done in $(( $(date +%s) - start ))s"
fi

[ "$phase2" = 1 ] || { say "work files in $out"; exit 0; }
[ -f "$out/plan.json" ] || { say "no $out/plan.json: run phase 1 first"; exit 1; }
setups=$(python3 -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1]))))' "$out/plan.json")

# mark KEY REASON SETUP...: an n/a row with its reason.
mark() { local key=$1 why=$2; shift 2; for s in "$@"; do [ -f "$out/$s/$key.json" ] || echo "$why" > "$out/$s/$key.note"; done; }
in_list() { [[ ",$2," == *",$1,"* ]]; }

llm_root=${XDG_CACHE_HOME:-$HOME/.cache}/switchyard
llm_file=${SWITCHYARD_LLM_DIR:-$llm_root/llm}/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf
llm_venv=${SWITCHYARD_LLM_VENV:-$llm_root/llm-venv}
wheel=$(ls "${SWITCHYARD_WHEEL_CACHE:-$llm_root/wheels}"/llama_cpp_python-0.3.36-*.whl 2>/dev/null | head -1 || true)
why=""
if [ ! -f "$llm_file" ]; then
  why="n/a: no local LLM at $llm_file (bash scripts/fetch-llm.sh)"
elif ! "$llm_venv/bin/python" -c 'import llama_cpp.server' 2>/dev/null; then
  if [ -f scripts/fetch-llm.sh ]; then
    bash scripts/fetch-llm.sh --wheel >&2 || true
  elif [ -n "$wheel" ]; then
    [ -x "$llm_venv/bin/python" ] || python3 -m venv "$llm_venv"
    "$llm_venv/bin/python" -m pip install -q "$wheel[server]" || true
  fi
  "$llm_venv/bin/python" -c 'import llama_cpp.server' 2>/dev/null ||
    why="n/a: llama-cpp-python's server is not installed in $llm_venv (bash scripts/fetch-llm.sh --wheel)"
fi

server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
  fi
}
trap cleanup EXIT
url="" model=""
if [ -z "$why" ]; then
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  say "starting llama_cpp.server on 127.0.0.1:$port (log: $out/llm-server.log)"
  "$llm_venv/bin/python" -m llama_cpp.server --model "$llm_file" --n_threads 2 --host 127.0.0.1 \
    --port "$port" --n_ctx 4096 > "$out/llm-server.log" 2>&1 &
  server_pid=$!
  url=http://127.0.0.1:$port/v1
  for _ in $(seq 180); do
    model=$(curl -sf "$url/models" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][0]["id"])' 2>/dev/null || true)
    [ -n "$model" ] && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 1
  done
  [ -n "$model" ] || { why="n/a: the llama.cpp server did not start (see llm-server.log)"; tail -20 "$out/llm-server.log" >&2; }
fi
if [ -n "$why" ]; then
  say "$why"
  for key in expand judge always; do mark "$key" "$why" $setups; done
  cond meta --out "$out" --set "llm_note=$why"
  table; exit 0
fi

load=$(cut -d' ' -f1 /proc/loadavg)
llm_note="llama-cpp-python 0.3.36 server, 2 threads, n_ctx 4096; judge timeout 60 s; load average $load at its start"
cond meta --out "$out" --set "llm_model=$(basename "$llm_file")" --set "llm_note=$llm_note"
cond llm --out "$out" --url "$url" --model "$model" --timeout 60s
for s in $setups; do
  in_list "$s" "$llm_setups" || mark judge "not run: LLM judge rows limited to $llm_setups (time)" "$s"
  in_list "$s" "$llm_setups" || mark always "not run: LLM judge rows limited to $llm_setups (time)" "$s"
  in_list "$s" "$expand_setups" || [ "$s" = llm_tasks-val ] ||
    mark expand "not run: routes expand limited to $expand_setups (time)" "$s"
done
for s in $setups; do for key in judge always expand; do
  [ -f "$out/$s/$key.json" ] || [ -f "$out/$s/$key.note" ] || echo "pending: the LLM phase is still running" > "$out/$s/$key.note"
done; done
table

# judge below threshold, then the LLM every time, on the sample
IFS=, read -r -a js <<< "$llm_setups"
for key in judge always; do
  for s in "${js[@]}"; do
    say "== $s: $key (LLM, $(grep -c . "$out/$s/sample.jsonl") rows)"
    t0=$(date +%s)
    run_eval "$s" "$key" "$out/$s/$key.yaml" "$out/$s/sample.jsonl" "$llm_lat" --judge
    say "$s $key: $(( $(date +%s) - t0 ))s"
    table
  done
done

# routes expand, then the new defaults on every row (the server is idle
# during that eval: expand is done by then)
IFS=, read -r -a es <<< "$expand_setups"
for s in "${es[@]}"; do
  w="$out/$s"
  say "== $s: routes expand --n 30 (LLM)"
  t0=$(date +%s)
  cp "$w/expand.yaml" "$w/expanded.yaml"
  rm -f "$w/expand.note"
  if "$sy" routes expand --config "$w/expanded.yaml" --provider llm --model "$model" --n 30 --write \
      > "$w/expand-patch.txt" 2> "$w/expand-run.log"; then
    say "$s expand: $(( $(date +%s) - t0 ))s"
    run_eval "$s" expand "$w/expanded.yaml" "$w/test.jsonl" "$lat"
    if [ "$s" = llm_tasks-test ] && [ -d "$out/llm_tasks-val" ]; then
      run_eval llm_tasks-val expand "$w/expanded.yaml" "$out/llm_tasks-val/test.jsonl" "$lat"
    fi
  else
    echo "routes expand failed (see expand-run.log)" > "$w/expand.note"
  fi
  table
done
for s in $setups; do for key in judge always expand; do
  if grep -qs '^pending' "$out/$s/$key.note"; then echo "not run" > "$out/$s/$key.note"; fi
done; done
table
say "done in $(( $(date +%s) - start ))s; work files in $out"
