#!/usr/bin/env bash
# bench/judge.sh: measure what switchyard's LLM judge step changes, with a
# SIMULATED judge (bench/judgesim: an oracle that answers the gold label with
# probability --accuracy after --latency; not a language model, none can run
# on this machine), and write the table into docs/EVALUATION.md between
# <!-- judge:begin --> and <!-- judge:end -->.
#
# Setups:
#   corpus    the project corpus (testdata/eval/corpus.jsonl) with the example
#             config as shipped (config/example.go), not fitted
#   domains   CLINC150 domains (10 + oos), conditions only: domain and its
#             intents (as bench/eval.sh builds it), fitted on the validation
#             split with switchyard fit, scored on the test split (all 5500
#             rows unless --limit)
#
# For each: switchyard eval without, then with --judge, with
#   judge: {provider: sim, model: sim, when: {below_threshold: true,
#           margin: 0.03}, timeout: 1.5s}
# and judgesim serving that setup's scored rows.
#
# Usage: bash bench/judge.sh [--limit N] [--out DIR] [--no-doc]
#                            [--accuracy P] [--latency D] [--margin M]
#   --limit N    score a stratified sample of about N rows of the CLINC150
#                test split (default 0: all 5500; the whole run takes ~6 min
#                on 2 cores, ~2.5 min with --limit 1100)
#   --out DIR    keep the work files there (default: a temp dir, removed)
#   --no-doc     print the table instead of writing docs/EVALUATION.md
set -euo pipefail
cd "$(dirname "$0")/.."

limit=0 out="" write_doc=1 accuracy=0.9 latency=300ms margin=0.03
while [ $# -gt 0 ]; do
  case $1 in
    --limit) limit=$2; shift ;;
    --out) out=$2; shift ;;
    --no-doc) write_doc=0 ;;
    --accuracy) accuracy=$2; shift ;;
    --latency) latency=$2; shift ;;
    --margin) margin=$2; shift ;;
    *) echo "judge: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
data=${SWITCHYARD_DATASETS:-../shared/datasets}
[ -d "$data/clinc150_domains" ] || { echo "judge: no datasets in $data (set SWITCHYARD_DATASETS)" >&2; exit 1; }
if [ -z "$out" ]; then
  out=$(mktemp -d); trap 'rm -rf "$out"' EXIT
fi
mkdir -p "$out"
start=$(date +%s)

go build -o "$out/switchyard" ./cmd/switchyard
go build -o "$out/judgesim" ./bench/judgesim
sy="$out/switchyard"
sr() { python3 bench/semrouter_eval.py "$@"; }

# with_judge CONFIG URL: add the simulated judge's provider and judge section.
with_judge() {
  python3 - "$1" "$2" "$margin" <<'EOF'
import sys, yaml
path, url, margin = sys.argv[1], sys.argv[2], float(sys.argv[3])
cfg = yaml.safe_load(open(path, encoding="utf-8"))
cfg["providers"] = [p for p in cfg.get("providers") or [] if p.get("name") != "sim"]
cfg["providers"].append({"name": "sim", "kind": "openai", "base_url": url})
cfg["judge"] = {"provider": "sim", "model": "sim",
                "when": {"below_threshold": True, "margin": margin}, "timeout": "1.5s"}
yaml.safe_dump(cfg, open(path, "w", encoding="utf-8"), sort_keys=False, allow_unicode=True)
EOF
}

# run_setup NAME TITLE CONFIG DATA [JUDGESIM ARGS...]: eval without and with
# the simulated judge.
run_setup() {
  local name=$1 title=$2 cfg=$3 rows=$4 w="$out/$1"
  shift 4
  echo "judge: == $name ($title)" >&2
  "$sy" eval --config "$cfg" --data "$rows" --json > "$w/without.json" 2> "$w/without.log"
  "$out/judgesim" --data "$rows" --accuracy "$accuracy" --latency "$latency" \
    --addr-file "$w/judgesim.url" "$@" > /dev/null 2> "$w/judgesim.log" &
  local pid=$!
  for _ in $(seq 50); do [ -s "$w/judgesim.url" ] && break; sleep 0.1; done
  cp "$cfg" "$w/judge.yaml"
  with_judge "$w/judge.yaml" "$(cat "$w/judgesim.url")"
  "$sy" eval --config "$w/judge.yaml" --data "$rows" --judge --json > "$w/with.json" 2> "$w/with.log" \
    || { kill "$pid"; cat "$w/with.log" >&2; return 1; }
  kill "$pid"; wait "$pid" 2>/dev/null || true
  printf '%s\t%s\t%s\n' "$name" "$title" "$w" >> "$out/manifest.tsv"
}
: > "$out/manifest.tsv"

load=$(cut -d' ' -f1 /proc/loadavg)

# The project corpus, example config as shipped. Its default route, chat, has
# no condition, so it is never a candidate: the right answer for a row
# labelled chat is "none", as for oos.
mkdir -p "$out/corpus"
awk '/^const example = `/{on=1; sub(/^const example = `/, ""); } on && /^`$/{exit} on' config/example.go > "$out/corpus/config.yaml"
"$sy" config check --config "$out/corpus/config.yaml" > /dev/null
run_setup corpus "project corpus (5 routes + chat default + oos), example config as shipped" \
  "$out/corpus/config.yaml" testdata/eval/corpus.jsonl --none chat

# CLINC150 domains, conditions only (domain and its intents), fitted on val.
ds="$data/clinc150_domains" w="$out/domains"
mkdir -p "$w"
python3 - "$ds/domains.json" > "$w/conditions.json" <<'EOF'
import json, sys
domains = json.load(open(sys.argv[1], encoding="utf-8"))
print(json.dumps({d: d.replace("_", " ") + ": " + ", ".join(i.replace("_", " ") for i in intents)
                  for d, intents in sorted(domains.items())}, indent=2))
EOF
sr routes --labels "$ds/labels.txt" --examples-per-route 0 --conditions "$w/conditions.json" > "$w/config.yaml"
sr sample --data "$ds/test.jsonl" --out "$w/test.jsonl" --limit "$limit"
"$sy" fit --config "$w/config.yaml" --data "$ds/val.jsonl" --write > "$w/fit.txt" 2>&1
run_setup domains "CLINC150 domains (10 + oos), conditions only: domain and its intents, fitted on val" \
  "$w/config.yaml" "$w/test.jsonl"

# The table.
python3 - "$out/manifest.tsv" "$write_doc" "$accuracy" "$latency" "$load" "$(nproc)" "$(( $(date +%s) - start ))" <<'EOF'
import datetime, json, re, sys
manifest, write_doc, accuracy, latency, load, cores, secs = sys.argv[1:8]
rows = []
for line in open(manifest, encoding="utf-8"):
    name, title, w = line.rstrip("\n").split("\t")
    a = json.load(open(f"{w}/without.json")); b = json.load(open(f"{w}/with.json"))
    j = b["judge"]
    rows.append(f"| {title} | {a['n']} | {100*a['accuracy']:.1f} → {100*b['accuracy']:.1f} "
                f"| {100*a['macro_f1']:.1f} → {100*b['macro_f1']:.1f} "
                f"| {100*j['share']:.1f} % ({j['calls']}) | {j['used']} | {j['errors']} "
                f"| {j['decision_p50_without_judge_ms']:.2f} → {j['decision_p50_ms']:.2f} | {j['added_p50_ms']:+.2f} "
                f"| {j['added_mean_ms']:+.1f} | {j['p50_ms']:.0f} |")
acc = float(accuracy)
latency = re.sub(r"^([\d.]+)\s*([a-zµ]+)$", r"\1 \2", latency)  # 300ms -> 300 ms
note = ""
if float(load) > int(cores) / 2:
    note = f" Load average {load} on {cores} cores at the start: latencies are inflated."
table = "\n".join([
    f"Run {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, {secs} s, by `bash bench/judge.sh`. "
    f"**Simulated judge: an oracle that answers the gold label with probability {acc:g} after {latency}; "
    f"not a language model.**{note}",
    "",
    "| setup | test rows | accuracy % without → with | macro-F1 % without → with | reached the judge | answers used | judge errors | decision p50 ms without → with | added p50 ms | added mean ms | judge p50 ms per call |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
    *rows,
])
if write_doc != "1":
    print(table); sys.exit()
doc = open("docs/EVALUATION.md", encoding="utf-8").read()
begin, end = "<!-- judge:begin -->", "<!-- judge:end -->"
if begin not in doc or end not in doc:
    sys.exit("judge: docs/EVALUATION.md has no judge markers")
doc = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda _: f"{begin}\n\n{table}\n\n{end}", doc, flags=re.S)
open("docs/EVALUATION.md", "w", encoding="utf-8").write(doc)
print(table)
EOF
echo "judge: done in $(( $(date +%s) - start ))s" >&2
