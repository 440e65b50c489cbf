# One image for every executable of the package (the four pipeline services, fixture-source
# and etl-seed); compose picks one with `command:`. Build: docker compose build
# (or docker build -t swift-etl-pipeline .). Without a registry, build the base images first:
# docker/airgap/build-stand-ins.sh.

# ---- build ------------------------------------------------------------------------------
# The project is developed and tested with Swift 6.3 (the default below); another image:
#   docker build --build-arg SWIFT_IMAGE=swift:6.3.1-bookworm .
ARG SWIFT_IMAGE=swift:6.3-bookworm
FROM ${SWIFT_IMAGE} AS builder

RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libhiredis-dev libcurl4-openssl-dev libsqlite3-dev libssh2-1-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /build
# Package.resolved pins the dependency versions when it exists (the pattern may match nothing).
COPY Package.swift Package.resolve[d] ./
RUN swift package resolve
COPY Sources ./Sources
COPY Tests ./Tests
# One `swift build` builds every product (it keeps only the last `--product` flag). The
# executables to ship are read from the package itself, and a missing one fails the build.
RUN set -eu; \
    swift build -c release --static-swift-stdlib; \
    bin="$(swift build -c release --static-swift-stdlib --show-bin-path)"; \
    executables="$(swift package describe --type json | tr -d ' \n' \
        | grep -o '"name":"[^"]*","targets":\[[^]]*\],"type":{"executable":null}' \
        | sed 's/^"name":"\([^"]*\)".*/\1/')"; \
    [ -n "$executables" ] || { echo "no executable products found in Package.swift" >&2; exit 1; }; \
    mkdir -p /out; \
    for exe in $executables; do cp "${bin}/${exe}" /out/ || exit 1; done; \
    # Resource bundles (the api's OpenAPI document and dashboard files) sit beside the binaries.
    for bundle in "${bin}"/*.resources; do cp -R "$bundle" /out/ || exit 1; done; \
    ls -l /out
# DWARF is four fifths of a static binary; the symbols stay, so backtraces keep their names.
RUN find /out -maxdepth 1 -type f -exec strip --strip-debug {} + && ls -l /out

# ---- runtime ----------------------------------------------------------------------------
FROM debian:bookworm-slim AS runtime

RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libhiredis0.14 libcurl4 libsqlite3-0 libssh2-1 ca-certificates tzdata curl libjs-chart.js \
    && rm -rf /var/lib/apt/lists/*

# The services start as root only to hand the bind-mounted folders to APP_UID:APP_GID
# (default etl, 1000:1000), then drop to that user: see docker/entrypoint.sh.
ARG APP_UID=1000
ARG APP_GID=1000
RUN groupadd --system --gid "${APP_GID}" etl \
    && useradd --system --uid "${APP_UID}" --gid etl --home-dir /app --shell /usr/sbin/nologin etl

WORKDIR /app
COPY --from=builder /out/ /usr/local/bin/
COPY docker/entrypoint.sh /usr/local/bin/docker-entrypoint.sh
COPY config ./config
RUN mkdir -p /app/data /app/database /app/ssh_keys \
    && chown -R etl:etl /app/data /app/database

ENV DATA_DIR=/app/data \
    DATABASE_PATH=/app/database/data.db \
    DEPARTMENTS_CSV=/app/config/departments.csv \
    SFTP_KEY_PATH=/app/ssh_keys/id_ed25519 \
    SFTP_KNOWN_HOSTS=/app/ssh_keys/known_hosts \
    API_HOST=0.0.0.0 \
    API_PORT=8000 \
    APP_UID=${APP_UID} \
    APP_GID=${APP_GID}

EXPOSE 8000

# The api's health; docker-compose.yml disables it for the other services.
HEALTHCHECK --interval=15s --timeout=3s --start-period=15s --retries=3 \
    CMD curl -fsS -o /dev/null "http://127.0.0.1:${API_PORT}/health" || exit 1

ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["api"]
