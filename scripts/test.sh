#!/usr/bin/env bash
# The test command (README.md): installs the embedding model if it is missing,
# then checks formatting, vets, and runs every test with the race detector.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/fetch-model.sh

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
