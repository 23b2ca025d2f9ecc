#!/usr/bin/env bash
# Builds the switchyard image (Dockerfile) where it can be built, and says
# plainly why not where it cannot; it never fails CI for want of Docker.
#
# If `docker info` reaches a daemon and the base images can be pulled: the
# static binary the image ships is built the way the Dockerfile builds it
# (CGO_ENABLED=0) and checked to be statically linked, then `docker build`
# and a smoke run of the image (`switchyard version`). Otherwise it prints
# "skipped: no Docker daemon" or "skipped: base image not reachable" with
# docker's own error, and exits 0, at once (CI calls it).
#
# usage: bash scripts/docker-build.sh [--tag NAME] [--static-only]
#   --tag NAME      the image's tag (default switchyard:dev)
#   --static-only   only build the static binary and check it (a few
#                   minutes the first time: a build of its own)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

tag=switchyard:dev
static_only=
while [ $# -gt 0 ]; do
  case $1 in
    --tag) tag=$2; shift 2 ;;
    --static-only) static_only=1; shift ;;
    *) echo "docker-build: unknown argument $1" >&2; exit 2 ;;
  esac
done
say() { printf 'docker-build: %s\n' "$*" >&2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/docker-build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

check_static() {
  CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$tmp/switchyard" ./cmd/switchyard
  if command -v file >/dev/null 2>&1; then
    kind=$(file -b "$tmp/switchyard")
    case $kind in
      *"statically linked"*|*"static-pie linked"*) say "static binary ok ($(du -h "$tmp/switchyard" | cut -f1)): $kind" ;;
      *) say "the binary is not static: $kind"; exit 1 ;;
    esac
  else
    say "no file(1): static linking not checked"
  fi
}
if [ -n "$static_only" ]; then
  check_static
  exit 0
fi

if ! command -v docker >/dev/null 2>&1; then
  say "skipped: no docker client installed"
  exit 0
fi
if ! err=$(docker info 2>&1 >/dev/null); then
  say "skipped: no Docker daemon ($(printf '%s' "$err" | tail -n 1))"
  exit 0
fi
go_version=$(sed -n 's/^toolchain go//p' go.mod)
for image in "golang:${go_version}-bookworm" gcr.io/distroless/static-debian12:nonroot; do
  if ! err=$(docker pull -q "$image" 2>&1); then
    say "skipped: base image not reachable: $image ($(printf '%s' "$err" | tail -n 1))"
    exit 0
  fi
done
check_static
docker build --build-arg GO_VERSION="$go_version" -t "$tag" .
docker run --rm "$tag" version
say "built $tag ($(docker image inspect -f '{{.Size}}' "$tag" | awk '{printf "%.1f MB", $1/1e6}'))"
