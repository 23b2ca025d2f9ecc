#!/usr/bin/env bash
# Routing quality and latency of switchyard against aurelio-labs
# semantic-router on public datasets, in one run on this machine: the same
# model files (all-MiniLM-L6-v2 from switchyard's model directory), the same
# routes and utterances (one switchyard config per setup, read by both), the
# same validation split to fit thresholds on and the same test split to score.
# Writes the results table into docs/EVALUATION.md between its markers.
#
# usage: bash bench/eval.sh [--quick] [--only a,b] [--limit N] [--out DIR] [--no-doc]
#
#   --quick      three setups, test and validation splits subsampled to 1000 rows
#   --only       comma-separated setup names (see SETUPS below)
#   --limit N    stratified subsample of every test split (0: all rows)
#   --out DIR    keep the work files (configs, splits, JSON results) here
#                (default: a new directory under $TMPDIR, printed at the end)
#   --no-doc     print the table, leave docs/EVALUATION.md alone
#
#   SWITCHYARD_DATASETS         datasets root (default ../shared/datasets,
#                               else /work/shared/datasets)
#   SWITCHYARD_SEMROUTER_VENV   venv for semantic-router (created if missing;
#                               default $HOME/.cache/switchyard/semrouter-venv)
#   SWITCHYARD_TORCH_SITE       a site-packages dir that already has torch and
#                               sentence-transformers, linked into that venv
#                               instead of installing torch again
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

quick=0 only="" limit=0 val_limit=0 out="" write_doc=1
while [ $# -gt 0 ]; do
  case $1 in
    --quick) quick=1; shift ;;
    --only) only=$2; shift 2 ;;
    --limit) limit=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --no-doc) write_doc=0; shift ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

# name | dataset | examples per route (0: conditions only, -1: all) | title
SETUPS="
clinc150-10|clinc150|10|CLINC150 intents (150 + oos), 10 examples
clinc150-all|clinc150|-1|CLINC150 intents (150 + oos), all train examples
clinc150_domains-names|clinc150_domains|0|CLINC150 domains (10 + oos), conditions only: domain names
clinc150_domains-0|clinc150_domains|0|CLINC150 domains (10 + oos), conditions only: domain and its intents
clinc150_domains-10|clinc150_domains|10|CLINC150 domains (10 + oos), 10 examples
banking77-10|banking77|10|BANKING77 (77), 10 examples
hwu64-10|hwu64|10|HWU64 (64), 10 examples
mt_bench-0|mt_bench|0|MT-Bench categories (8), conditions only
"
if [ "$quick" = 1 ]; then
  [ -n "$only" ] || only="clinc150-10,clinc150_domains-0,mt_bench-0"
  [ "$limit" != 0 ] || limit=1000
  val_limit=1000
fi

data=${SWITCHYARD_DATASETS:-}
if [ -z "$data" ]; then
  for d in "$root/../shared/datasets" /work/shared/datasets; do
    [ -d "$d" ] && { data=$(cd "$d" && pwd); break; }
  done
fi
[ -n "$data" ] && [ -d "$data" ] || { echo "eval: datasets not found; set SWITCHYARD_DATASETS" >&2; exit 1; }

bash scripts/fetch-model.sh >&2
model_dir=${SWITCHYARD_MODEL_DIR:-${SWITCHYARD_MODELS:-${XDG_CACHE_HOME:-$HOME/.cache}/switchyard/models}/all-MiniLM-L6-v2}

venv=${SWITCHYARD_SEMROUTER_VENV:-$HOME/.cache/switchyard/semrouter-venv}
if ! "$venv/bin/python" -c 'import semantic_router, sentence_transformers, yaml' 2>/dev/null; then
  echo "eval: setting up $venv (one-off)" >&2
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  if [ -n "${SWITCHYARD_TORCH_SITE:-}" ]; then
    site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    echo "$SWITCHYARD_TORCH_SITE" > "$site/zz_torch_site.pth"
  fi
  "$venv/bin/pip" install -q -r bench/requirements-eval.txt
fi
py="$venv/bin/python"
sr() { "$py" "$root/bench/semrouter_eval.py" "$@"; }

mkdir -p bin && GOFLAGS=-buildvcs=auto go build -o bin/switchyard ./cmd/switchyard
sy="$root/bin/switchyard"
has() { "$sy" "$@" --help >/dev/null 2>&1; }
has_eval=0 has_fit=0 has_from=0
has eval && has_eval=1
has fit && has_fit=1
has routes from-dataset && has_from=1
echo "eval: switchyard commands: eval=$has_eval fit=$has_fit routes-from-dataset=$has_from" >&2

if [ -z "$out" ]; then out=$(mktemp -d "${TMPDIR:-/tmp}/switchyard-eval.XXXXXX"); fi
mkdir -p "$out"; out=$(cd "$out" && pwd)

# Condition per MT-Bench category (the conditions-only setup), shared with
# bench/conditions.py.
cp bench/mt_bench-conditions.json "$out/mt_bench-conditions.json"

# Condition per CLINC150 domain: the domain's name, then the names of its 15
# intents as a list, from the dataset's own domain -> intents map
# (domains.json); no utterance of any split is used.
python3 - "$data/clinc150_domains/domains.json" > "$out/clinc150_domains-conditions.json" <<'EOF'
import json, sys
words = lambda s: s.replace("_", " ")
domains = json.load(open(sys.argv[1], encoding="utf-8"))
print(json.dumps({d: words(d) + ": " + ", ".join(words(i) for i in intents)
                  for d, intents in sorted(domains.items())}, indent=2))
EOF

manifest="$out/manifest.tsv"
: > "$manifest"
notes=()
[ "$has_from" = 1 ] || notes+=("switchyard routes from-dataset missing: configs with examples were written by bench/semrouter_eval.py routes (first N distinct train texts per label)")

run_setup() {
  local name=$1 dataset=$2 n=$3 title=$4
  local ds="$data/$dataset" w="$out/$name"
  mkdir -p "$w"
  echo "eval: == $name ($title)" >&2

  # Splits. Datasets without a validation split get a stratified 80/20 split of
  # train (seed 0): the 20% is the validation split for both routers, the 80%
  # is where examples come from. Test is only ever scored.
  local train_src="" val_src=""
  if [ -f "$ds/val.jsonl" ]; then
    train_src="$ds/train.jsonl"; val_src="$ds/val.jsonl"
  elif [ -f "$ds/train.jsonl" ]; then
    sr split --data "$ds/train.jsonl" --train-out "$w/train-part.jsonl" --val-out "$w/val-full.jsonl" --val-fraction 0.2 --seed 0
    train_src="$w/train-part.jsonl"; val_src="$w/val-full.jsonl"
  fi
  sr sample --data "$ds/test.jsonl" --out "$w/test.jsonl" --limit "$limit"
  local val=""
  if [ -n "$val_src" ]; then
    sr sample --data "$val_src" --out "$w/val.jsonl" --limit "$val_limit"
    val="$w/val.jsonl"
  fi
  if [ -n "$train_src" ]; then
    # examples never repeat a test or validation text (exact duplicates exist)
    sr sample --data "$train_src" --out "$w/train.jsonl" --exclude "$ds/test.jsonl" \
      ${val_src:+--exclude "$val_src"} --dedupe
  fi

  # Routes: one per label, the default route takes the rest (oos).
  local cond_args=()
  [ "$dataset" = mt_bench ] && cond_args=(--conditions "$out/mt_bench-conditions.json")
  [ "$name" = clinc150_domains-0 ] && cond_args=(--conditions "$out/clinc150_domains-conditions.json")
  local thr_args=()
  [ -z "$val" ] && thr_args=(--threshold -1)  # nothing to fit on: both sides always route
  if [ "$n" = 0 ]; then
    sr routes --labels "$ds/labels.txt" --examples-per-route 0 "${cond_args[@]}" "${thr_args[@]}" > "$w/config.yaml"
  elif [ "$has_from" = 1 ]; then
    local per=$n; [ "$n" = -1 ] && per=all
    "$sy" routes from-dataset "$w/train.jsonl" --examples-per-route "$per" > "$w/config.yaml"
  else
    sr routes --data "$w/train.jsonl" --labels "$ds/labels.txt" --examples-per-route "$n" "${thr_args[@]}" > "$w/config.yaml"
  fi
  "$sy" config check --config "$w/config.yaml" > /dev/null

  # switchyard: fit thresholds on val (on a copy), score on test.
  local sy_json="" sy_note=""
  if [ "$has_eval" = 1 ]; then
    cp "$w/config.yaml" "$w/switchyard.yaml"
    if [ -n "$val" ] && [ "$has_fit" = 1 ]; then
      "$sy" fit --config "$w/switchyard.yaml" --data "$val" --write > "$w/switchyard-fit.txt" 2>&1 \
        || { echo "eval: switchyard fit failed, see $w/switchyard-fit.txt" >&2; sy_note="fit failed"; }
    elif [ -n "$val" ]; then
      sy_note="not fitted (no switchyard fit)"
    fi
    if [ -z "$sy_note" ] || [ "$sy_note" = "not fitted (no switchyard fit)" ]; then
      if "$sy" eval --config "$w/switchyard.yaml" --data "$w/test.jsonl" --json > "$w/switchyard.json" 2> "$w/switchyard-eval.log"; then
        sy_json="$w/switchyard.json"
      else
        echo "eval: switchyard eval failed, see $w/switchyard-eval.log" >&2; sy_note="eval failed"
      fi
    fi
  else
    sy_note="switchyard eval missing"
  fi

  # semantic-router: same config, same splits.
  local sr_json="$w/semrouter.json" sr_note=""
  if ! sr run --config "$w/config.yaml" --test "$w/test.jsonl" ${val:+--val "$val"} \
      --model-dir "$model_dir" --compact --predictions "$w/semrouter-predictions.jsonl" \
      > "$sr_json" 2> "$w/semrouter.log"; then
    echo "eval: semantic-router failed, see $w/semrouter.log" >&2; sr_note="failed"; sr_json=""
  fi

  local rows has_oos=0
  rows=$(grep -c . "$w/test.jsonl")
  grep -q '"label": "oos"' "$w/test.jsonl" && has_oos=1
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$title" "$rows" "$has_oos" \
    "$sy_json" "$sy_note" "$sr_json" "$sr_note" >> "$manifest"
}

start=$(date +%s)
load=$(cut -d' ' -f1 /proc/loadavg)
if awk -v l="$load" -v n="$(nproc)" 'BEGIN{exit !(l > n / 2)}'; then
  echo "eval: warning: load average $load on $(nproc) cores; latency figures will be inflated" >&2
  notes+=("load average $load on $(nproc) cores at the start of the run: other work shared the CPU, so latencies are inflated")
fi
while IFS='|' read -r name dataset n title; do
  [ -n "$name" ] || continue
  if [ -n "$only" ] && [[ ",$only," != *",$name,"* ]]; then continue; fi
  run_setup "$name" "$dataset" "$n" "$title"
done <<< "$SETUPS"

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs || true)
versions=$("$py" -c 'import semantic_router, sentence_transformers, torch; print(semantic_router.__version__, sentence_transformers.__version__, torch.__version__.split("+")[0])')
syver=$("$sy" version 2>/dev/null | head -1 || true)
notes_json=$(printf '%s\n' "${notes[@]+"${notes[@]}"}" | "$py" -c 'import json,sys; print(json.dumps([l.strip() for l in sys.stdin if l.strip()]))')
"$py" - "$manifest" "$out/manifest.json" "$quick" "$cpu" "$(nproc)" "$versions" "$syver" "$notes_json" <<'EOF'
import json, sys, datetime
src, dst, quick, cpu, cores, versions, syver, notes = sys.argv[1:9]
srv, stv, tv = versions.split()
setups = []
for line in open(src, encoding="utf-8"):
    name, title, rows, has_oos, sy, sy_note, srj, sr_note = line.rstrip("\n").split("\t")
    setups.append({"name": name, "title": title, "test_rows": int(rows), "has_oos": has_oos == "1",
                   "switchyard": sy or None, "switchyard_note": sy_note or None,
                   "semrouter": srj or None, "semrouter_note": sr_note or None})
meta = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu, "cores": cores, "quick": quick == "1", "semantic_router": srv,
        "sentence_transformers": stv, "torch": tv, "switchyard": syver or "?"}
json.dump({"meta": meta, "setups": setups, "notes": json.loads(notes)}, open(dst, "w"), indent=2)
EOF

if [ "$write_doc" = 1 ]; then
  sr table --manifest "$out/manifest.json" --doc docs/EVALUATION.md
else
  tmpdoc="$out/table.md"; printf '<!-- eval:begin -->\n<!-- eval:end -->\n' > "$tmpdoc"
  sr table --manifest "$out/manifest.json" --doc "$tmpdoc"
fi
echo "eval: done in $(( $(date +%s) - start ))s; work files in $out" >&2
