#!/usr/bin/env bash
# Builds local stand-ins for the base images the project's Dockerfile and docker-compose.yml
# name, for a machine that reaches no image registry (air-gapped CI, a lab network):
#
#   debian:bookworm-slim   debootstrap --variant=minbase against this host's apt mirror
#   swift:6.3-bookworm     debian:bookworm-slim + the toolchain's runtime packages + this host's
#                          Swift toolchain (SWIFT_TOOLCHAIN) and Swift package mirror (SWIFT_PACKAGE_MIRROR)
#   redis:7                Debian's redis-server
#   atmoz/sftp             OpenSSH's internal-sftp with atmoz/sftp's interface (see sftp/entrypoint)
#
# An image is built only when the engine lacks it and cannot pull it: a machine that reaches
# Docker Hub always runs the real images. Needs root (debootstrap) or sudo, and a Docker engine.
#
#   docker/airgap/build-stand-ins.sh            build what is missing
#   docker/airgap/build-stand-ins.sh --no-pull  do not try the registry first
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly HERE
SWIFT_TOOLCHAIN="${SWIFT_TOOLCHAIN:-/opt/swift}"
SWIFT_PACKAGE_MIRROR="${SWIFT_PACKAGE_MIRROR:-/opt/swift-packages}"
DOCKER="${DOCKER:-docker}"
TRY_PULL=true
[[ "${1:-}" == --no-pull ]] && TRY_PULL=false

log() { printf 'build-stand-ins: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

SUDO=""
[[ "$(id -u)" == 0 ]] || SUDO="sudo"

have_image() { "$DOCKER" image inspect "$1" >/dev/null 2>&1; }

# True when the image is here, or could be pulled (then the real image is used).
image_available() {
    have_image "$1" && return 0
    [[ "$TRY_PULL" == true ]] || return 1
    timeout 60 "$DOCKER" pull -q "$1" >/dev/null 2>&1
}

build_debian() {
    command -v debootstrap >/dev/null 2>&1 ||
        die "debootstrap not found: apt-get install debootstrap"
    local scratch mirror
    scratch="$(mktemp -d)"
    mirror="$(apt_mirror)"
    log "debian:bookworm-slim: debootstrap --variant=minbase bookworm from ${mirror}"
    $SUDO debootstrap --variant=minbase bookworm "$scratch/rootfs" "$mirror" >"$scratch/debootstrap.log" 2>&1 ||
        { tail -n 20 "$scratch/debootstrap.log" >&2; die "debootstrap failed (log above)"; }
    # The host's apt sources (a snapshot mirror may carry expired Release files).
    $SUDO rm -f "$scratch/rootfs/etc/apt/sources.list"
    $SUDO cp -a /etc/apt/sources.list.d/. "$scratch/rootfs/etc/apt/sources.list.d/"
    [[ -f /etc/apt/sources.list ]] && $SUDO cp /etc/apt/sources.list "$scratch/rootfs/etc/apt/sources.list"
    $SUDO find "$scratch/rootfs/etc/apt/sources.list.d" -name '*.disabled*' -delete
    echo 'Acquire::Check-Valid-Until "false";' | $SUDO tee "$scratch/rootfs/etc/apt/apt.conf.d/99stand-in" >/dev/null
    $SUDO rm -rf "$scratch/rootfs/var/cache/apt/archives/"*.deb "$scratch/rootfs/var/lib/apt/lists/"*
    $SUDO tar -C "$scratch/rootfs" -c . | "$DOCKER" import -c 'CMD ["bash"]' - debian:bookworm-slim >/dev/null
    $SUDO rm -rf "$scratch"
}

# The first Debian URI of the host's apt configuration (deb822 or one-line format).
apt_mirror() {
    local uri
    uri="$(grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v security | head -n 1 || true)"
    [[ -n "$uri" ]] || uri="$(grep -hE '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' | head -n 1 || true)"
    echo "${uri:-http://deb.debian.org/debian}"
}

# No Dockerfile: a build context would copy the 3 GB toolchain once more. The container
# mounts the toolchain and the mirror read-only, copies them in, and is committed.
build_swift() {
    [[ -x "${SWIFT_TOOLCHAIN}/usr/bin/swift" ]] ||
        die "no Swift toolchain at ${SWIFT_TOOLCHAIN} (set SWIFT_TOOLCHAIN to the folder holding usr/bin/swift)"
    [[ -d "$SWIFT_PACKAGE_MIRROR" ]] ||
        die "no Swift package mirror at ${SWIFT_PACKAGE_MIRROR} (set SWIFT_PACKAGE_MIRROR)"
    log "swift:6.3-bookworm: ${SWIFT_TOOLCHAIN} and the package mirror ${SWIFT_PACKAGE_MIRROR} on debian:bookworm-slim"
    local name="swift-stand-in-$$"
    "$DOCKER" rm -f "$name" >/dev/null 2>&1 || true
    "$DOCKER" run --name "$name" \
        -v "${SWIFT_TOOLCHAIN}:/mnt/toolchain:ro" -v "${SWIFT_PACKAGE_MIRROR}:/mnt/mirror:ro" \
        debian:bookworm-slim bash -euo pipefail -c '
            apt-get update -q
            DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
                binutils binutils-gold ca-certificates gcc git gnupg2 libc6-dev libcurl4-openssl-dev \
                libedit2 libgcc-12-dev libicu-dev libncurses-dev libpython3-dev libsqlite3-dev \
                libstdc++-12-dev libxml2-dev libz3-dev pkg-config tzdata unzip uuid-dev zlib1g-dev >/dev/null
            rm -rf /var/lib/apt/lists/*
            cp -a /mnt/toolchain/usr/. /usr/
            mkdir -p /opt/swift-packages && cp -a /mnt/mirror/. /opt/swift-packages/
            git config --system url./opt/swift-packages/.insteadOf https://github.com/
            swift --version' >&2 || { "$DOCKER" rm -f "$name" >/dev/null; die "swift stand-in build failed"; }
    "$DOCKER" commit -c 'CMD ["bash"]' "$name" swift:6.3-bookworm >/dev/null
    "$DOCKER" rm -f "$name" >/dev/null
}

build_from_dockerfile() {
    local tag="$1" dir="$2"
    log "${tag}: ${dir#"$HERE"/}/Dockerfile"
    "$DOCKER" build -q -t "$tag" "$dir" >/dev/null
}

main() {
    "$DOCKER" info >/dev/null 2>&1 || die "no Docker engine answers (${DOCKER} info failed)"
    local start=$SECONDS
    image_available debian:bookworm-slim || build_debian
    image_available swift:6.3-bookworm || build_swift
    image_available redis:7 || build_from_dockerfile redis:7 "$HERE/redis"
    image_available atmoz/sftp || build_from_dockerfile atmoz/sftp "$HERE/sftp"
    log "base images ready in $((SECONDS - start)) s"
}

main "$@"
