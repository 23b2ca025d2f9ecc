#!/usr/bin/env bash
# The test command (README.md): installs the embedding model if it is missing,
# then checks formatting, vets, and runs every test with the race detector.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/fetch-model.sh

# The interop tests drive switchyard with the official Python SDKs.
venv=${SWITCHYARD_INTEROP_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/switchyard/interop-venv}
if ! "$venv/bin/python" -c 'import openai' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check 'openai>=1.50,<3'
fi
export SWITCHYARD_INTEROP_PYTHON=$venv/bin/python

unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:" >&2
  echo "$unformatted" >&2
  exit 1
fi
go vet ./...
# The non-amd64 build runs the portable kernels; keep it compiling.
GOARCH=arm64 go vet ./embed/...
go test -race -count=1 ./...
