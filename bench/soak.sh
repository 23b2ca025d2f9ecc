#!/usr/bin/env bash
# Soak test: builds switchyard and bench/soak, then runs the soak (default
# 10 minutes at 200 req/s with injected upstream faults and a config reload
# every 30 s). Flags are passed to bench/soak, e.g.
#   bench/soak.sh --duration 10m
#   bench/soak.sh --duration 90s --doc ''   # a trial that keeps docs/SOAK.md
# See docs/SOAK.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(mktemp -d "${TMPDIR:-/tmp}/switchyard-soak-bin.XXXXXX")
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/switchyard" ./cmd/switchyard
go build -o "$bin/soak" ./bench/soak
"$bin/soak" --bin "$bin/switchyard" "$@"
