# syntax=docker/dockerfile:1
# One image for the four pipeline services (and the offline fixture-source); compose picks
# the executable with `command:`. Build: docker compose build (or docker build -t swift-etl-pipeline .)

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
COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --static-swift-stdlib \
        --product extractor --product transformer --product saver --product api --product fixture-source \
    && bin="$(swift build -c release --static-swift-stdlib --show-bin-path)" \
    && mkdir -p /out \
    && for exe in extractor transformer saver api fixture-source; do cp "${bin}/${exe}" /out/; done

# ---- runtime ----------------------------------------------------------------------------
FROM debian:bookworm-slim AS runtime

RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libhiredis0.14 libcurl4 libsqlite3-0 libssh2-1 ca-certificates tzdata curl libjs-chart.js \
    && rm -rf /var/lib/apt/lists/*

# Compose runs the services as APP_UID:APP_GID (see docker-compose.yml); this user is the
# default for a plain `docker run`.
ARG APP_UID=1000
ARG APP_GID=1000
RUN groupadd --system --gid "${APP_GID}" etl \
    && useradd --system --uid "${APP_UID}" --gid etl --home-dir /app --shell /usr/sbin/nologin etl

WORKDIR /app
COPY --from=builder /out/ /usr/local/bin/
COPY config ./config
RUN mkdir -p /app/data /app/database /app/ssh_keys \
    && chown -R etl:etl /app/data /app/database

ENV DATA_DIR=/app/data \
    DATABASE_PATH=/app/database/data.db \
    DEPARTMENTS_CSV=/app/config/departments.csv \
    SFTP_KEY_PATH=/app/ssh_keys/id_ed25519 \
    SFTP_KNOWN_HOSTS=/app/ssh_keys/known_hosts \
    API_HOST=0.0.0.0 \
    API_PORT=8000

USER etl
EXPOSE 8000

# The api's health; docker-compose.yml disables it for the other services.
HEALTHCHECK --interval=15s --timeout=3s --start-period=15s --retries=3 \
    CMD curl -fsS -o /dev/null "http://127.0.0.1:${API_PORT}/health" || exit 1

CMD ["api"]
