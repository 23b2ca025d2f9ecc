#!/usr/bin/env bash
# Measures the in-process embedding engine against sentence-transformers
# (PyTorch, CPU) on this machine, in one run, and prints a table of medians
# and ratios. Inputs are the same texts on both sides (8..256 tokens, and a
# batch of 32 x 16 tokens); see embed/local_bench_test.go.
#
# Each SIMD level runs at each precision (int8, the default where the CPU
# has AVX2 or AVX-512, and fp32, which reproduces sentence-transformers);
# the ratio column is against the first level at the first precision.
#
# usage: bash bench/embed.sh [--count N] [--levels "avx512 avx2"] [--precisions "int8 fp32"] [--quick]
#
#   SWITCHYARD_BENCH_VENV  Python venv with sentence-transformers; created
#                          (about 6 GB with torch) if missing
#                          (default $HOME/.cache/switchyard/bench-venv)
set -euo pipefail
cd "$(dirname "$0")/.."

count=5
levels="avx512 avx2"
precisions="int8 fp32"
benchtime=1s
pyseconds=2
while [ $# -gt 0 ]; do
  case $1 in
    --count) count=$2; shift 2 ;;
    --levels) levels=$2; shift 2 ;;
    --precisions) precisions=$2; shift 2 ;;
    --quick) count=2; benchtime=300ms; pyseconds=0.5; shift ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

bash scripts/fetch-model.sh >&2
model_dir=${SWITCHYARD_MODEL_DIR:-${SWITCHYARD_MODELS:-${XDG_CACHE_HOME:-$HOME/.cache}/switchyard/models}/all-MiniLM-L6-v2}

venv=${SWITCHYARD_BENCH_VENV:-$HOME/.cache/switchyard/bench-venv}
if ! "$venv/bin/python" -c 'import sentence_transformers' 2>/dev/null; then
  echo "bench: creating $venv with sentence-transformers (one-off)" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q sentence-transformers
fi

out=$(mktemp -d "${TMPDIR:-/tmp}/embed-bench.XXXXXX")
trap 'rm -rf "$out"' EXIT
go test -c -o "$out/embed.test" ./embed/
mkdir -p bin && go build -o bin/switchyard ./cmd/switchyard

echo "bench: cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores" >&2
# GOMAXPROCS, not -test.cpu: the embedder sizes its core budget from
# GOMAXPROCS when it is built, and the environment fixes it for the whole
# process. The benchmark names get a -2 suffix with 2 cores.
variants=()
for level in $levels; do
  for prec in $precisions; do
    variants+=("$level-$prec")
    for cores in 1 2; do
      echo "bench: go, $level, $prec, $cores core(s)" >&2
      GOMAXPROCS=$cores SWITCHYARD_SIMD=$level SWITCHYARD_PRECISION=$prec "$out/embed.test" -test.run '^$' \
        -test.bench 'BenchmarkEmbed(Single|Batch)' -test.count "$count" -test.benchtime "$benchtime" >> "$out/go-$level-$prec.txt"
    done
  done
done
echo "bench: sentence-transformers" >&2
"$venv/bin/python" bench/embed_reference.py "$model_dir" --seconds "$pyseconds" > "$out/st.json"

# Peak RSS of one CLI run with the model loaded and one text embedded.
/usr/bin/time -v bin/switchyard embed "how much memory does the model take" \
  > /dev/null 2> "$out/rss.txt"

python3 bench/embed_summary.py "$out" "${variants[@]}"
